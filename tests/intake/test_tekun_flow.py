"""The 特困 workflow end to end through the services (SQLite and PostgreSQL): apply → accept → the three
conditions investigated → R2 evaluated by the policy engine → township review → 公示 7 days (the dibao
machinery of doudi.disclosure), an objection upheld → re-investigation → 3-day 复核公示 → district
approval → enrolment (scheme tekun, person category 特困人员) with a printable decision; refusals in
writing; the SLA (7 working days in the window, else 30 days; 公示 not counted)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from benefits.support import act, declare_window, make_household, objection_of
from doudi.audit.models import AuditEntry
from doudi.benefits.models import Enrolment, EnrolmentChange
from doudi.core.errors import Conflict
from doudi.disclosure.models import Publication
from doudi.intake import services
from doudi.intake.models import Case, CaseTransition
from doudi.intake.workflows import tekun
from doudi.registry.models import PersonCategory

D = datetime.date
pytestmark = pytest.mark.django_db

MET = {
    "method": "visit",
    "no_work_ability": "met",
    "no_work_ability_note": "年满60周岁，患慢性病，经入户核实无劳动能力",
    "no_income": "met",
    "no_income_note": "无工资、经营和财产收入，无存款",
    "no_supporter": "none",
    "no_supporter_note": "配偶已故，无子女，无其他法定扶养义务人",
}


def actions(case):
    return list(CaseTransition.objects.filter(case=case).order_by("seq").values_list("action", flat=True))


@pytest.fixture
def elder(regions):
    household, people = make_household(regions.a_v, [("刘建国", 0)])
    return people[0]


def file_tekun(officers, person, **kwargs):
    return services.open_case(
        by=officers.a_township,
        case_type="tekun",
        channel="walk_in",
        region=person.region,
        summary="无劳动能力、无生活来源，申请特困供养",
        applicant=person,
        **kwargs,
    )


def to_evaluated(case, officers, conditions=MET):
    case = act(case, "accept", officers.a_township)
    case = act(case, "investigate", officers.a_township, "入户调查、邻里走访", **conditions)
    return act(case, "evaluate", officers.a_township)


def public_html(client):
    response = client.get(reverse("disclosure:public"))
    assert response.status_code == 200
    return response.content.decode()


def test_whole_flow_in_the_emergency_window(officers, regions, elder, frozen_today, client):
    frozen_today(D(2020, 3, 2))  # Monday
    declare_window(officers, D(2020, 1, 24))
    case = file_tekun(officers, elder)
    assert case.state == "submitted" and case.household_id is not None

    case = act(case, "accept", officers.a_township)
    # The dibao limit applied to 特困: 7 working days in the window, with its basis shown.
    assert (case.sla_limit, case.sla_unit, case.due_on) == (7, "wd", D(2020, 3, 11))
    assert "比照低保" in case.sla_basis

    case = act(case, "investigate", officers.a_township, "入户调查、邻里走访", **MET)
    assert case.state == "investigated"
    inv = case.details["investigation"]
    assert inv["conditions"]["no_supporter"] == {"value": "none", "note": MET["no_supporter_note"]}
    assert tekun.conditions_met(inv)

    case = act(case, "evaluate", officers.a_township)
    ev = case.details["evaluation"]
    # R2: round_half_up(546 × 1.3) = 710, by the policy engine, explained with clause "tekun".
    assert (ev["decision"], ev["amount"], ev["period"], ev["eligible"]) == ("include", 710, "2020-03", True)
    assert [(s["rule"], s["clause"], s["value"]) for s in ev["explanation"]] == [
        ("tekun.amount", "tekun", 710)
    ]
    assert {p["name"] for p in ev["parameters"]} == {"dibao.standard.urban", "tekun.basic_living_ratio"}
    assert ev["unverified"] == ["dibao.standard.urban"]  # 546 is unverified (POLICY §2)

    case = act(case, "township_review", officers.a_township, "三项条件均符合，同意", opinion="agree")
    assert case.state == "publicity" and case.due_on is None  # 公示 days are not counted
    pub = Publication.objects.get(case=case)
    assert (pub.kind, pub.scheme, pub.amount, pub.start_date, pub.end_date) == (
        "first",
        "tekun",
        710,
        D(2020, 3, 2),
        D(2020, 3, 8),
    )
    html = public_html(client)
    assert "刘*国" in html and "刘建国" not in html and elder.id_number not in html and ">710<" in html

    # An objection on the public form; upheld: the 公示 comes down, the case is investigated again.
    frozen_today(D(2020, 3, 4))
    response = client.post(
        reverse("disclosure:objection", args=[pub.pk]),
        {"name": "", "phone": "13912345678", "reason": "其侄子一直赡养，有固定收入", "website": ""},
    )
    assert response.status_code == 200
    objection = objection_of(case)
    assert objection.related_case_id == case.pk and objection.state == "submitted"
    with pytest.raises(Conflict):  # not before the objection is decided
        act(case, "end_publicity", officers.a_township)
    client.force_login(officers.a_township)
    page = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'data-testid="publication-running"' in page and f'id="objection-{objection.pk}-uphold"' in page
    client.logout()
    with pytest.raises(Conflict):
        case_now = Case.objects.get(pk=case.pk)
        services.perform_action(case=case_now, action="approve", by=officers.a_approver)
    case = act(
        case,
        "uphold_objection",
        officers.a_township,
        "核实侄子非法定义务人，但需复查",
        objection=objection.pk,
    )
    assert case.state == "reinvestigation"
    objection.refresh_from_db()
    assert objection.state == "closed"
    assert "刘*国" not in public_html(client)

    case = act(case, "investigate", officers.a_township, "复查", **MET)
    assert "evaluation" not in case.details  # a new finding drops the earlier evaluation
    case = act(case, "evaluate", officers.a_township)
    case = act(case, "township_review", officers.a_township, "复查后同意", opinion="agree")
    assert case.state == "republicity"
    re_pub = Publication.objects.filter(case=case).latest("pk")
    assert (re_pub.kind, re_pub.start_date, re_pub.end_date) == ("re", D(2020, 3, 4), D(2020, 3, 6))

    frozen_today(D(2020, 3, 6))
    with pytest.raises(Conflict):  # the 3 days are not over
        act(case, "end_publicity", officers.a_township)
    frozen_today(D(2020, 3, 9))
    case = act(case, "end_publicity", officers.a_township)
    assert case.state == "awaiting_approval"
    # 公示 (2–3 March) and 复核公示 (4–8 March, until reported over) are not counted: 9–17 March.
    assert case.due_on == D(2020, 3, 17)

    case = act(case, "approve", officers.a_approver, "同意认定")
    assert case.state == "approved" and not case.is_open
    decision = case.details["decision"]
    assert (decision["amount"], decision["from_month"], decision["person"]) == (710, "2020-03-01", elder.pk)
    assert (decision["urban_standard"], Decimal(str(decision["ratio"]))) == (546, Decimal("1.3"))
    enrolment = Enrolment.objects.get(decision_case=case)
    assert (enrolment.scheme, enrolment.person_id, enrolment.household_id, enrolment.from_month) == (
        "tekun",
        elder.pk,
        case.household_id,
        D(2020, 3, 1),
    )
    assert (enrolment.monthly_amount, enrolment.status, enrolment.approved_by) == (
        710,
        "active",
        officers.a_approver,
    )
    change = EnrolmentChange.objects.get(enrolment=enrolment)
    assert change.kind == "enrolled" and change.after["categories_granted"] == [elder.pk]
    grant = PersonCategory.objects.get(person=elder, category="tekun")
    assert (grant.valid_from, grant.valid_to) == (D(2020, 3, 1), None)
    assert AuditEntry.objects.filter(object_type="benefits.enrolment", object_id=str(enrolment.pk)).exists()
    assert actions(case) == [
        "open",
        "accept",
        "investigate",
        "evaluate",
        "township_review",
        "uphold_objection",
        "investigate",
        "evaluate",
        "township_review",
        "end_publicity",
        "approve",
    ]

    # The case page shows the panel; the printable decision (审批决定书) names amount, month and basis.
    client.force_login(officers.a_approver)
    page = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'data-testid="tekun-panel"' in page and 'data-testid="tekun-enrolled"' in page
    assert 'id="tekun-decision-notice"' in page and elder.id_number not in page
    seq = case.transitions.get(action="approve").seq
    notice = client.get(reverse("intake:notice", args=[case.pk, seq]))
    html = notice.content.decode()
    assert notice.status_code == 200 and "特困人员救助供养审批决定书" in html
    assert 'data-testid="decision-amount">710' in html and "2020-03" in html
    assert 'data-testid="notice-investigated">入户调查（2020年3月' in html
    assert "社会救助暂行办法" in html and "行政复议" in html


def test_outside_the_window_thirty_days_and_the_panel(officers, elder, frozen_today, client):
    frozen_today(D(2020, 7, 1))  # no window declared
    case = act(file_tekun(officers, elder), "accept", officers.a_township)
    assert (case.sla_limit, case.sla_unit, case.due_on) == (30, "cd", D(2020, 7, 31))
    client.force_login(officers.a_township)
    html = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'id="tekun-investigation-form"' in html and 'name="data_no_supporter"' in html
    case = act(case, "investigate", officers.a_township, "", **MET)
    case = act(case, "evaluate", officers.a_township)
    html = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'data-testid="tekun-explanation"' in html and 'data-testid="tekun-amount">710<' in html
    assert 'data-testid="unverified-parameter"' in html and 'id="tekun-township-review"' in html


def test_conditions_not_met_lead_to_a_written_refusal(officers, elder, frozen_today, client):
    frozen_today(D(2020, 3, 2))
    not_met = MET | {"no_supporter": "not_met", "no_supporter_note": "其子在本区工作，有赡养能力"}
    case = to_evaluated(file_tekun(officers, elder), officers, not_met)
    ev = case.details["evaluation"]
    assert (ev["decision"], ev["amount"], ev["standard_amount"]) == ("not_eligible", 0, 710)
    with pytest.raises(ValidationError) as error:  # the township cannot agree
        act(case, "township_review", officers.a_township, "同意", opinion="agree")
    assert "opinion" in error.value.message_dict
    case = act(
        case, "township_review", officers.a_township, "有法定赡养义务人且有赡养能力", opinion="disagree"
    )
    assert case.state == "township_disagreed" and not Publication.objects.filter(case=case).exists()
    with pytest.raises(ValidationError):  # reasons in writing
        act(case, "refuse", officers.a_approver, "")
    case = act(case, "refuse", officers.a_approver, "其子有赡养能力，不符合特困人员认定条件")
    assert case.state == "refused" and not Enrolment.objects.exists()
    assert not PersonCategory.objects.filter(person=elder, category="tekun").exists()
    client.force_login(officers.a_township)
    seq = case.transitions.get(action="refuse").seq
    html = client.get(reverse("intake:notice", args=[case.pk, seq])).content.decode()
    assert "不予批准通知书" in html and "其子有赡养能力" in html and "特困人员救助供养申请" in html
    assert 'data-testid="refusal-basis"' in html and "不符合" in html
    assert "调查核实方式：入户调查" in html


def test_investigation_needs_a_registered_applicant(officers, regions, frozen_today):
    frozen_today(D(2020, 3, 2))
    case = services.open_case(
        by=officers.a_township,
        case_type="tekun",
        channel="walk_in",
        region=regions.a_v,
        summary="申请特困供养",
        applicant_name="赵某",
    )
    case = act(case, "accept", officers.a_township)
    with pytest.raises(ValidationError) as error:
        act(case, "investigate", officers.a_township, **MET)
    assert "applicant" in error.value.message_dict
    with pytest.raises(ValidationError) as error:  # each condition needs its finding and its notes
        act(
            case,
            "investigate",
            officers.a_township,
            **{k: v for k, v in MET.items() if k != "no_income_note"},
        )
    assert "no_income_note" in error.value.message_dict
    assert Case.objects.get(pk=case.pk).state == "accepted"


def test_a_person_already_in_tekun_is_not_enrolled_twice(officers, elder, frozen_today):
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))

    def approved_case():
        case = to_evaluated(file_tekun(officers, elder), officers)
        case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
        return case

    first = approved_case()
    second = approved_case()
    frozen_today(D(2020, 3, 9))
    act(first, "end_publicity", officers.a_township)
    act(second, "end_publicity", officers.a_township)
    act(first, "approve", officers.a_approver)
    with pytest.raises(Conflict):
        act(second, "approve", officers.a_approver)
    # The refused approval wrote nothing: the case waits, one enrolment, one grant.
    assert Case.objects.get(pk=second.pk).state == "awaiting_approval"
    assert Enrolment.objects.filter(person=elder, scheme="tekun").count() == 1
    assert PersonCategory.objects.filter(person=elder, category="tekun").count() == 1


def test_approval_applies_the_standard_of_the_month_of_approval(officers, elder, frozen_today):
    """Approved in a later month the enrolment starts in that month, at its standard (re-run by the
    engine); the evaluated amount stays on the decision."""
    from doudi.parameters import services as parameters

    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = to_evaluated(file_tekun(officers, elder), officers)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    frozen_today(D(2020, 4, 1))
    case = act(case, "end_publicity", officers.a_township)
    parameters.add_parameter_value(
        user=officers.city_admin,
        name="dibao.standard.urban",
        effective_from=D(2020, 4, 1),
        value=Decimal(600),
        reference="测试",
        verified=True,
        reason="调标",
    )
    case = act(case, "approve", officers.a_approver)
    decision = case.details["decision"]
    assert (decision["amount"], decision["evaluated_amount"], decision["from_month"]) == (
        780,
        710,
        "2020-04-01",
    )
    assert Enrolment.objects.get(decision_case=case).monthly_amount == 780  # round_half_up(600 × 1.3)


def test_a_portal_application_runs_the_same_flow(officers, elder, frozen_today):
    from doudi.portal import services as portal

    frozen_today(D(2020, 3, 2))
    applied = portal.apply_online(
        portal.Application(
            scheme="tekun",
            subtype="",
            applicant_name=elder.name,
            applicant_id_number=elder.id_number,
            applicant_phone=elder.phone,
            village_code=elder.region_id,
            reason="年老体弱，无人照料",
            consent=True,
        )
    )
    case = applied.case
    assert (case.case_type, case.channel, case.applicant_id) == ("tekun", "portal", elder.pk)
    case = to_evaluated(case, officers)
    assert case.details["evaluation"]["amount"] == 710


def test_the_investigation_records_how_and_when(officers, elder, frozen_today, client):
    """Notice 四: by phone or video instead of a visit — the method and its day are on the record."""
    frozen_today(D(2020, 3, 4))
    case = act(file_tekun(officers, elder), "accept", officers.a_township)
    without = {k: v for k, v in MET.items() if k != "method"}
    with pytest.raises(ValidationError) as exc:
        act(case, "investigate", officers.a_township, **without)
    assert "method" in exc.value.message_dict
    for day, field in (("2020-03-05", "investigated_on"), ("2020-03-03", "investigated_on")):
        with pytest.raises(ValidationError) as exc:
            act(case, "investigate", officers.a_township, **MET | {"method": "video", "investigated_on": day})
        assert field in exc.value.message_dict
    case = act(
        case, "investigate", officers.a_township, **MET | {"method": "video", "investigated_on": "2020-03-04"}
    )
    assert case.details["investigated"] == {"method": "video", "on": "2020-03-04"}
    assert case.transitions.get(action="investigate").data["investigated"]["method"] == "video"
    client.force_login(officers.a_township)
    page = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert "视频核实（微信等）（2020-03-04）" in page
