"""Temporary assistance (一(五)d, 一(三)), 一事一议 (一(五)c), 先行救助 (一(五)e) and the bereavement decision
(一(五)b): threshold routing, escalation beyond the caps, collective decisions with minutes, first aid up
to the cap without approval and its formalisation deadline, the bereavement case where no standard is set."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.audit.models import AuditEntry
from doudi.core.errors import Conflict
from doudi.intake import flows, selectors, services, sla
from doudi.intake.models import Case, CaseTransition
from doudi.intake.workflows import temporary

D = datetime.date
pytestmark = pytest.mark.django_db


def _set(officers, name, value, region=None, since=D(2020, 1, 24)):
    from doudi.parameters.services import add_parameter_value

    add_parameter_value(
        user=officers.city_admin,
        name=name,
        effective_from=since,
        value=value,
        region=region,
        reference="区县民政局文件",
        reason="区县标准",
    )


def _accepted(open_case, officers, **kwargs):
    return services.perform_action(
        case=open_case("temporary", **kwargs), action="accept", by=officers.a_township
    )


def _assess(case, officers, amount, by=None, **data):
    return services.perform_action(
        case=case,
        action="assess",
        by=by or officers.a_township,
        reason="核定",
        data={"amount": amount, "aid_form": "cash", **data},
    )


# --- thresholds ---------------------------------------------------------------------------------------------------


def test_township_approves_up_to_its_limit(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _assess(_accepted(open_case, officers), officers, 2000)  # the city-wide default limit: 2000
    assert case.state == temporary.TOWNSHIP_REVIEW
    assert case.details["assessment"]["route"] == "township"
    assert case.details["assessment"]["limits_verified"] is False  # placeholder parameters are flagged
    with pytest.raises(PermissionDenied):
        flows.require_transition(case, "approve_township", officers.a_approver)
    case = services.perform_action(
        case=case, action="approve_township", by=officers.a_township, reason="同意"
    )
    assert case.state == flows.APPROVED
    assert case.details["decision"] == {
        "amount": 2000,
        "aid_form": "cash",
        "level": "township",
        "decided_by": "a_township",
        "decided_on": "2020-03-10",
    }
    case = services.perform_action(case=case, action="close", by=officers.a_township, reason="已发放")
    assert case.state == flows.CLOSED


def test_above_the_township_limit_the_district_approves(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _assess(_accepted(open_case, officers), officers, 2001)
    assert case.state == temporary.DISTRICT_REVIEW
    with pytest.raises(Conflict):
        flows.require_transition(case, "approve_township", officers.a_township)  # not the township's any more
    assert case.pk in set(selectors.work_queue(officers.a_approver).values_list("pk", flat=True))
    case = services.perform_action(case=case, action="approve", by=officers.a_approver)
    assert case.details["decision"]["level"] == "district" and case.details["decision"]["amount"] == 2001


def test_each_district_sets_its_own_thresholds(officers, regions, open_case, frozen_today):
    _set(officers, "temporary.township_approval_limit", 500, region="500101")
    _set(officers, "temporary.cap.urgent", 4000, region="500101")
    frozen_today(D(2020, 3, 10))
    limits = temporary.temporary_limits(open_case("temporary"))
    assert (limits.township.yuan, limits.township.own, limits.cap.yuan, limits.cap.own) == (
        500,
        True,
        4000,
        True,
    )
    case = _assess(_accepted(open_case, officers), officers, 800)
    assert case.state == temporary.DISTRICT_REVIEW  # 800 > Wanzhou's 500
    b_case = services.perform_action(
        case=open_case("temporary", by=officers.b_township, region=regions.b_v),
        action="accept",
        by=officers.b_township,
    )
    b_case = _assess(b_case, officers, 800, by=officers.b_township)
    assert b_case.state == temporary.TOWNSHIP_REVIEW  # Fuling keeps the city-wide 2000
    # 支出型 has its own cap (city default 6000).
    expenditure = _assess(_accepted(open_case, officers, subtype="expenditure"), officers, 5000)
    assert expenditure.state == temporary.DISTRICT_REVIEW


def test_a_threshold_lowered_after_assessment_sends_it_to_the_district(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _assess(_accepted(open_case, officers), officers, 1500)
    _set(officers, "temporary.township_approval_limit", 1000, region="500101", since=D(2020, 3, 1))
    with pytest.raises(Conflict):
        services.perform_action(case=case, action="approve_township", by=officers.a_township)
    case = services.perform_action(case=case, action="reassess", by=officers.a_township, reason="额度调整")
    assert _assess(case, officers, 1500).state == temporary.DISTRICT_REVIEW


def test_newly_impoverished_farmers_are_flagged(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _assess(_accepted(open_case, officers), officers, 600, poverty="relapsed")
    assert case.details["poverty"] == "relapsed"
    with pytest.raises(ValidationError):
        _assess(_accepted(open_case, officers), officers, 600, poverty="rich")


def test_the_district_may_decide_directly_but_not_beyond_the_cap(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _accepted(open_case, officers)
    with pytest.raises(ValidationError) as exc:
        services.perform_action(case=case, action="approve", by=officers.a_approver)
    assert "amount" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.perform_action(case=case, action="approve", by=officers.a_approver, data={"amount": 3001})
    assert "一事一议" in exc.value.message_dict["amount"][0]
    case = services.perform_action(case=case, action="approve", by=officers.a_approver, data={"amount": 1500})
    assert case.details["decision"]["level"] == "district"


# --- 一事一议 ---------------------------------------------------------------------------------------------------------


def test_beyond_the_cap_goes_to_case_by_case_with_minutes(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _accepted(open_case, officers)
    with pytest.raises(ValidationError) as exc:
        _assess(case, officers, 20000)
    assert "一事一议" in exc.value.message_dict["amount"][0]
    assert Case.objects.get(pk=case.pk).state == flows.ACCEPTED  # nothing written

    case = services.perform_action(
        case=case,
        action="escalate",
        by=officers.a_township,
        reason="夫妻均确诊，子女就学，生活出现重大困难",
        data={"amount": 20000},
    )
    assert case.state == temporary.ESCALATED and not case.is_open
    proposal = Case.objects.get(tracking_number=case.transitions.last().data["case_by_case"])
    assert (proposal.case_type, proposal.state, proposal.related_case_id) == (
        "case_by_case",
        "proposed",
        case.pk,
    )
    assert proposal.details["proposal"]["amount"] == 20000

    frozen_today(D(2020, 3, 12))
    meeting = {
        "meeting_on": "2020-03-11",
        "minutes_ref": "万州民政〔2020〕12号纪要",
        "participants": "张局长\n李科长\n王主任",
        "amount": 18000,
    }
    with pytest.raises(PermissionDenied):  # collective decisions are the district's
        services.perform_action(case=proposal, action="decide", by=officers.a_township, data=meeting)
    with pytest.raises(ValidationError) as exc:
        services.perform_action(
            case=proposal,
            action="decide",
            by=officers.a_approver,
            data={**meeting, "participants": "张局长\n李科长"},
        )
    assert "participants" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.perform_action(
            case=proposal,
            action="decide",
            by=officers.a_approver,
            data={**meeting, "meeting_on": "2020-03-13"},
        )
    assert "meeting_on" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.perform_action(
            case=proposal, action="decide", by=officers.a_approver, data={**meeting, "minutes_ref": ""}
        )
    assert "minutes_ref" in exc.value.message_dict

    proposal = services.perform_action(
        case=proposal, action="decide", by=officers.a_approver, data=meeting, reason="同意"
    )
    assert proposal.state == flows.APPROVED
    decision = proposal.details["decision"]
    assert decision["amount"] == 18000 > 3000  # beyond the ordinary cap: what 一事一议 is for
    assert decision["participants"] == ["张局长", "李科长", "王主任"]
    ledger = CaseTransition.objects.get(case=proposal, action="decide")
    assert ledger.data["minutes_ref"] == "万州民政〔2020〕12号纪要" and ledger.by == officers.a_approver
    audit = (
        AuditEntry.objects.filter(object_type="intake.case", object_id=str(proposal.pk)).order_by("pk").last()
    )
    assert (
        audit.after["data"]["minutes_ref"] == "万州民政〔2020〕12号纪要"
        and audit.after["data"]["amount"] == 18000
    )


def test_collective_decision_may_decline_in_writing(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = services.perform_action(case=open_case("case_by_case"), action="accept", by=officers.a_township)
    case = services.perform_action(
        case=case, action="propose", by=officers.a_township, data={"amount": 9000, "situation": "重病"}
    )
    meeting = {"meeting_on": "2020-03-10", "minutes_ref": "纪要3号", "participants": "甲\n乙\n丙"}
    with pytest.raises(ValidationError):
        services.perform_action(
            case=case, action="decline", by=officers.a_approver, data=meeting
        )  # no reason
    case = services.perform_action(
        case=case, action="decline", by=officers.a_approver, data=meeting, reason="已纳入医疗救助"
    )
    assert case.state == flows.REFUSED and case.details["decision"]["outcome"] == "declined"


# --- 先行救助 ---------------------------------------------------------------------------------------------------------


def _first_aid(officers, regions, amount, given_on=D(2020, 3, 10), by=None):
    return temporary.record_first_aid(
        by=by or officers.a_village,
        region=regions.a_v,
        summary="独居老人断粮，先行送米面油",
        amount=amount,
        aid_form="goods",
        items="大米10斤、食用油1桶",
        given_on=given_on,
        applicant_name="刘奶奶",
    )


def test_first_aid_up_to_the_cap_without_approval(officers, regions, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _first_aid(officers, regions, 1000)
    assert (case.case_type, case.channel, case.state) == ("first_aid", "village_first_aid", temporary.GIVEN)
    assert [t.action for t in case.transitions.order_by("seq")] == ["open", "give"]
    assert all(t.by == officers.a_village for t in case.transitions.all())  # nobody approved it
    assert case.details["first_aid"]["amount"] == 1000


def test_first_aid_above_the_cap_is_refused_and_nothing_written(officers, regions, frozen_today):
    frozen_today(D(2020, 3, 10))
    before = Case.objects.count()
    with pytest.raises(ValidationError) as exc:
        _first_aid(officers, regions, 1001)
    assert "temporary.first_aid_cap" in exc.value.message_dict["amount"][0]
    assert Case.objects.count() == before
    with pytest.raises(ValidationError):
        _first_aid(officers, regions, 500, given_on=D(2020, 3, 11))  # not in the future


def test_first_aid_must_be_formalised_within_the_deadline(officers, regions, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _first_aid(officers, regions, 800, given_on=D(2020, 3, 9))  # recorded the day after
    assert case.due_on == sla.add_working_days(D(2020, 3, 9), 5) == D(2020, 3, 16)
    assert "temporary.first_aid_formalise_days" in case.sla_basis
    frozen_today(D(2020, 3, 17))
    overdue = selectors.work_queue(officers.a_village, selectors.CaseFilters(overdue=True))
    assert case.pk in set(overdue.values_list("pk", flat=True))
    with pytest.raises(PermissionDenied):  # the village cannot justify its own aid
        services.perform_action(case=case, action="justify", by=officers.a_village, reason="已解决")

    case = services.perform_action(case=case, action="formalise", by=officers.a_village)
    assert case.state == temporary.FORMALISED and not case.is_open
    follow_up = Case.objects.get(related_case=case)
    assert (follow_up.case_type, follow_up.subtype, follow_up.channel) == (
        "temporary",
        "urgent",
        "village_first_aid",
    )
    assert follow_up.details["first_aid"]["amount"] == 800 and follow_up.filed_on_behalf
    assert case.transitions.last().data["temporary_case"] == follow_up.tracking_number


def test_first_aid_justified_by_the_township(officers, regions, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = _first_aid(officers, regions, 300)
    case = services.perform_action(
        case=case, action="justify", by=officers.a_township, reason="一次性帮扶已解决困难"
    )
    assert case.state == flows.CLOSED and case.due_on is None


def test_first_aid_cap_follows_the_parameter(officers, regions, frozen_today):
    _set(officers, "temporary.first_aid_cap", 1500, since=D(2020, 3, 1))
    frozen_today(D(2020, 3, 10))
    assert _first_aid(officers, regions, 1500).details["first_aid"]["cap"] == "1500"


# --- the bereavement decision (一(五)b, R6) ----------------------------------------------------------------------------


@pytest.fixture
def covered_family(regions, make_person):
    """A dibao household of two in A's village; the husband confirmed in February 2020."""
    from doudi.registry.models import Household

    household = Household.objects.create(
        region=regions.a_v, area_type="urban", dibao_enrolled=True, dibao_last_amount=500
    )
    husband = make_person(regions.a_v, "陈大文", household=household)
    wife = make_person(regions.a_v, "林小红", household=household, relation="spouse")
    return household, husband, wife


def _confirm_and_die(officers, person, frozen_today):
    from doudi.intake.services import record_covid_event

    frozen_today(D(2020, 3, 20))
    record_covid_event(person=person, kind="confirmed", date=D(2020, 2, 10), by=officers.a_village)
    record_covid_event(person=person, kind="died", date=D(2020, 3, 2), by=officers.a_village)


def test_bereavement_case_opened_where_the_district_has_no_standard(officers, covered_family, frozen_today):
    household, husband, wife = covered_family
    _confirm_and_die(officers, husband, frozen_today)
    case = Case.objects.get(case_type="case_by_case")
    assert case.details["bereavement"] == {
        "person": husband.pk,
        "name": "陈大文",
        "died_on": "2020-03-02",
        "district": "500101",
        "needs_district_standard": True,
    }
    assert case.applicant == wife and case.household == household  # the family, not the deceased
    assert case.region.district_code == "500101" and case.channel == "department_referral"
    # Recording the death again (e.g. after voiding a wrong entry) opens no second case.
    assert (
        temporary.open_bereavement_case(person=husband, died_on=D(2020, 3, 2), by=officers.a_village) is None
    )
    assert Case.objects.filter(case_type="case_by_case").count() == 1


def test_no_bereavement_case_where_the_district_set_a_standard(officers, covered_family, frozen_today):
    _set(officers, "covid.bereavement_assistance", 5000, region="500101")
    household, husband, wife = covered_family
    _confirm_and_die(officers, husband, frozen_today)
    assert not Case.objects.filter(case_type="case_by_case").exists()


def test_no_bereavement_case_for_a_person_r5_does_not_cover(officers, regions, make_person, frozen_today):
    person = make_person(regions.a_v, "赵普通")  # no scheme, no category
    _confirm_and_die(officers, person, frozen_today)
    assert not Case.objects.filter(case_type="case_by_case").exists()


def test_bereavement_for_a_registered_poor_person_confirmed_in_a_declared_window(
    officers, regions, make_person, frozen_today
):
    from doudi.regions.services import declare_window
    from doudi.registry.models import PersonCategory

    declare_window(by=officers.city_admin, name="疫情防控期间", start=D(2020, 2, 15), reason="一级响应")
    early = make_person(regions.a_v, "周早")
    late = make_person(regions.a_v, "吴晚")
    for person in (early, late):
        PersonCategory.objects.create(person=person, category="registered_poor", valid_from=D(2016, 1, 1))
    from doudi.intake.services import record_covid_event

    frozen_today(D(2020, 3, 20))
    record_covid_event(
        person=early, kind="confirmed", date=D(2020, 2, 10), by=officers.a_village
    )  # before it
    record_covid_event(person=early, kind="died", date=D(2020, 3, 1), by=officers.a_village)
    record_covid_event(person=late, kind="confirmed", date=D(2020, 2, 20), by=officers.a_village)
    record_covid_event(person=late, kind="died", date=D(2020, 3, 1), by=officers.a_village)
    opened = Case.objects.filter(case_type="case_by_case")
    assert [c.details["bereavement"]["name"] for c in opened] == ["吴晚"]
    assert opened.get().applicant == late  # no family member: the case names the deceased


def test_panels_on_the_case_pages(officers, regions, open_case, frozen_today, client):
    from django.urls import reverse

    frozen_today(D(2020, 3, 10))
    client.force_login(officers.a_township)
    case = _assess(_accepted(open_case, officers), officers, 600)
    html = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert (
        'data-testid="temporary-panel"' in html
        and 'data-testid="township-limit"' in html
        and "未核实" in html
    )
    aid = _first_aid(officers, regions, 500)
    html = client.get(reverse("intake:case", args=[aid.pk])).content.decode()
    assert 'data-testid="first-aid"' in html and "大米10斤" in html
    assert re.search(r'data-testid="formalise-deadline">\s*2020-03-17', html)  # 5 working days after 10 March
    late = _first_aid(officers, regions, 500, given_on=D(2020, 3, 2))  # recorded after its deadline
    assert temporary.formalise_deadline(late) == D(2020, 3, 9) and late.due_on == D(2020, 3, 10)
    assert "已超过补办期限" in client.get(reverse("intake:case", args=[late.pk])).content.decode()
