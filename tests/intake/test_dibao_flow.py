"""The dibao workflow end to end through the services (SQLite and PostgreSQL): apply → accept → data →
evaluate → township review → deliberation skipped in the window / recorded outside → 公示 7 days on the
public page, masked → objection upheld → re-investigation → 3-day 复核公示 → approval → enrolment from
the month of approval at the evaluated amount → printable decision; refusals in writing; the SLA pauses."""

import datetime

import pytest
from django.urls import reverse

from benefits.support import (
    act,
    declare_window,
    figures,
    file_dibao,
    make_household,
    objection_of,
    to_evaluated,
)
from doudi.benefits.models import Enrolment, EnrolmentChange
from doudi.core.errors import Conflict
from doudi.disclosure.models import Publication
from doudi.intake.models import Case, CaseTransition
from doudi.registry.models import Household, PersonCategory

D = datetime.date


def actions(case):
    return list(CaseTransition.objects.filter(case=case).order_by("seq").values_list("action", flat=True))


def public_html(client):
    response = client.get(reverse("disclosure:public"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def family(regions):
    # Urban, 3 people: standard 546 × 3 = 1638; wages 1000 + 300 → 338 a month (POLICY §5 example 1).
    return make_household(regions.a_v, [("张小明", 0), ("李红", 0), ("张乐", 0)])


def test_whole_flow_in_the_emergency_window(officers, regions, family, frozen_today, client):
    household, people = family
    head = people[0]
    frozen_today(D(2020, 3, 2))  # Monday
    declare_window(officers, D(2020, 1, 24))
    case = file_dibao(officers, head)
    assert case.household_id == household.pk and case.state == "submitted"

    case = act(case, "accept", officers.a_township)
    assert case.state == "accepted" and case.accepted_on == D(2020, 3, 2)
    assert case.sla_limit == 7 and case.sla_unit == "wd"
    assert case.due_on == D(2020, 3, 11)  # 7 working days

    case = act(case, "economic_data", officers.a_township, "入户调查", **figures(people, [1000, 300, 0]))
    assert case.state == "investigated"
    head.refresh_from_db()
    assert head.income_wage_fen == 100_000  # the settled figures are the household's record
    case = act(case, "evaluate", officers.a_township)
    ev = case.details["evaluation"]
    assert ev["dibao"]["decision"] == "include" and ev["dibao"]["amount"] == 338
    assert ev["period"] == "2020-03" and ev["in_emergency_window"] is True
    assert {s["rule"] for s in ev["explanation"]} >= {"dibao.decision", "dibao.amount", "dibao.standard"}
    assert "dibao.standard.urban" in ev["unverified"]  # 546 is flagged unverified in POLICY §2

    # Township agrees: in the window the deliberation is skipped — recorded — and 公示 starts at once.
    case = act(case, "township_review", officers.a_township, "经调查属实，同意纳入", opinion="agree")
    assert case.state == "publicity"
    assert actions(case)[-2:] == ["township_review", "skip_deliberation"]
    skip = CaseTransition.objects.get(case=case, action="skip_deliberation")
    assert "取消群众评议" in skip.reason and skip.data["deliberation"] == "skipped"
    pub = Publication.objects.get(case=case)
    assert (pub.kind, pub.start_date, pub.end_date) == ("first", D(2020, 3, 2), D(2020, 3, 8))
    assert case.due_on is None and case.sla_paused_since == D(2020, 3, 2)  # 公示 days not counted

    # The public page: exactly the allowed fields, masked; no ID, phone, address or household.
    html = public_html(client)
    assert "张*明" in html and head.id_number[:6] + "********" + head.id_number[-4:] in html
    assert "高笋塘社区" in html and ">338<" in html
    for secret in (
        head.id_number,
        head.phone,
        household.address,
        "张小明",
        "李红",
        "张乐",
        people[1].id_number,
    ):
        assert secret not in html

    # An objection through the public form (no login) on 4 March opens a linked case.
    frozen_today(D(2020, 3, 4))
    response = client.post(
        reverse("disclosure:objection", args=[pub.pk]),
        {"name": "", "phone": "13912345678", "reason": "其子在外务工收入较高", "website": ""},
    )
    assert response.status_code == 200 and "objection-number" in response.content.decode()
    objection = objection_of(case)
    assert objection.channel == "portal" and objection.related_case_id == case.pk
    assert objection.region_id == case.region_id and objection.state == "submitted"
    assert objection.applicant_phone == "13912345678"
    assert case.comments.filter(text__contains=objection.tracking_number).exists()
    with pytest.raises(Conflict):  # not before the objection is decided
        act(case, "end_publicity", officers.a_township)

    # Upheld on 5 March: the objection case is closed with the finding, the 公示 comes down.
    frozen_today(D(2020, 3, 5))
    case = act(case, "uphold_objection", officers.a_township, "核实其子月收入增加", objection=objection.pk)
    assert case.state == "reinvestigation"
    objection.refresh_from_db()
    assert objection.state == "closed" and "异议成立" in objection.transitions.last().reason
    assert "张*明" not in public_html(client)

    # Re-investigation, evaluation again, review: a 3-day 复核公示 (no second deliberation).
    case = act(case, "economic_data", officers.a_township, "复查", **figures(people, [1000, 400, 0]))
    case = act(case, "evaluate", officers.a_township)
    assert case.details["evaluation"]["dibao"]["amount"] == 238
    case = act(case, "township_review", officers.a_township, "复查后同意", opinion="agree")
    assert case.state == "republicity" and actions(case)[-1] == "republish"
    re_pub = Publication.objects.filter(case=case).latest("pk")
    assert (re_pub.kind, re_pub.start_date, re_pub.end_date, re_pub.amount) == (
        "re",
        D(2020, 3, 5),
        D(2020, 3, 7),
        238,
    )
    assert ">238<" in public_html(client)

    frozen_today(D(2020, 3, 7))
    with pytest.raises(Conflict):  # the 3 days are not over
        act(case, "end_publicity", officers.a_township)
    frozen_today(D(2020, 3, 8))
    assert "张*明" not in public_html(client)  # the entry left the page when its period ended
    case = act(case, "end_publicity", officers.a_township)
    assert case.state == "awaiting_approval"
    # Clock: 2–4 March (公示) and 5–7 March (复核公示) are not counted: due 17 March instead of 11 March.
    assert case.due_on == D(2020, 3, 17)

    frozen_today(D(2020, 3, 9))
    case = act(case, "approve", officers.a_approver, "同意")
    assert case.state == "approved" and not case.is_open and case.due_on is None
    enrolment = Enrolment.objects.get(decision_case=case)
    assert (enrolment.scheme, enrolment.status, enrolment.from_month, enrolment.monthly_amount) == (
        "dibao",
        "active",
        D(2020, 3, 1),
        238,
    )
    assert enrolment.approved_by == officers.a_approver
    assert EnrolmentChange.objects.get(enrolment=enrolment).kind == "enrolled"
    household = Household.objects.get(pk=household.pk)
    assert household.dibao_enrolled and household.dibao_last_amount == 238
    grants = PersonCategory.objects.filter(person__in=people, category="dibao")
    assert grants.count() == 3 and {g.valid_from for g in grants} == {D(2020, 3, 1)}
    assert actions(case) == [
        "open",
        "accept",
        "economic_data",
        "evaluate",
        "township_review",
        "skip_deliberation",
        "uphold_objection",
        "economic_data",
        "evaluate",
        "township_review",
        "republish",
        "end_publicity",
        "approve",
    ]

    # The printable decision (审批决定书).
    client.force_login(officers.a_approver)
    seq = case.transitions.get(action="approve").seq
    page = client.get(reverse("intake:notice", args=[case.pk, seq]))
    html = page.content.decode()
    assert page.status_code == 200 and "最低生活保障审批决定书" in html
    assert "238" in html and "2020-03" in html and "行政复议" in html and "一(一)" in html
    assert "张小明" in html  # the applicant's own notice names them

    # The long-term list of recipients: name (masked), amount, village.
    client.logout()
    listing = client.get(reverse("disclosure:recipients")).content.decode()
    assert "张*明" in listing and "238" in listing and "张小明" not in listing


def test_deliberation_is_recorded_outside_the_window_and_pauses_the_clock(
    officers, family, frozen_today, client
):
    household, people = family
    frozen_today(D(2020, 7, 1))  # no window declared: 30 days
    case = file_dibao(officers, people[0])
    case = to_evaluated(case, officers, people)
    assert case.sla_limit == 30 and case.due_on == D(2020, 7, 31)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    assert case.state == "deliberation" and actions(case)[-1] == "start_deliberation"
    assert not Publication.objects.filter(case=case).exists() and case.due_on is None
    with pytest.raises(Conflict):  # deliberation cannot be skipped outside the window
        act(case, "skip_deliberation", officers.a_township)

    frozen_today(D(2020, 7, 6))
    case = act(
        case,
        "record_deliberation",
        officers.a_township,
        "评议通过",
        held_on="2020-07-05",
        participants="15",
        outcome="agree",
        minutes_ref="GST-2020-07",
    )
    assert case.state == "publicity"
    assert case.details["deliberation"]["participants"] == 15
    pub = Publication.objects.get(case=case)
    assert (pub.start_date, pub.end_date) == (D(2020, 7, 6), D(2020, 7, 12))
    assert "张*明" in public_html(client)
    frozen_today(D(2020, 7, 13))
    assert "张*明" not in public_html(client)
    case = act(case, "end_publicity", officers.a_township)
    # Paused from 1 July (deliberation) to 13 July (公示 ended): 2–12 July are not counted, so the
    # 30 days end on 11 August instead of 31 July.
    assert case.due_on == D(2020, 8, 11)
    case = act(case, "approve", officers.a_approver)
    assert Enrolment.objects.get(decision_case=case).from_month == D(2020, 7, 1)


def test_deliberation_against_goes_to_the_district_which_refuses_in_writing(
    officers, family, frozen_today, client
):
    household, people = family
    frozen_today(D(2020, 7, 1))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    case = act(
        case,
        "record_deliberation",
        officers.a_township,
        "群众反映家庭有经营收入",
        held_on="2020-07-01",
        participants="9",
        outcome="disagree",
        minutes_ref="M-1",
    )
    assert case.state == "township_disagreed" and not Publication.objects.filter(case=case).exists()
    case = act(case, "refuse", officers.a_approver, "民主评议未通过：家庭有未申报的经营收入。")
    assert case.state == "refused" and not case.is_open
    assert not Enrolment.objects.filter(decision_case=case).exists()
    client.force_login(officers.a_township)
    seq = case.transitions.get(action="refuse").seq
    html = client.get(reverse("intake:notice", args=[case.pk, seq])).content.decode()
    assert "不予批准通知书" in html and "未申报的经营收入" in html and "行政复议" in html
    assert "家庭月人均收入" in html  # the basis of the evaluation


def test_township_disagreement_and_refusal(officers, family, frozen_today, client):
    household, people = family
    frozen_today(D(2020, 3, 2))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people, wages_yuan=(3000, 0, 0))
    assert case.details["evaluation"]["dibao"]["decision"] == "not_eligible"
    case = act(case, "township_review", officers.a_township, "人均收入高于标准", opinion="disagree")
    assert case.state == "township_disagreed"
    case = act(case, "refuse", officers.a_approver, "家庭月人均收入1000元，高于低保标准546元。")
    client.force_login(officers.a_approver)
    seq = case.transitions.get(action="refuse").seq
    html = client.get(reverse("intake:notice", args=[case.pk, seq])).content.decode()
    assert "不予批准通知书" in html and "高于低保标准546元" in html and "收入条件不符合" in html


def test_approving_against_the_evaluation_needs_a_written_reason_and_is_audited(
    officers, family, frozen_today
):
    from django.core.exceptions import ValidationError

    from doudi.audit.models import AuditEntry

    household, people = family
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people, wages_yuan=(2000, 0, 0))
    assert case.details["evaluation"]["dibao"]["decision"] == "not_eligible"
    case = act(case, "township_review", officers.a_township, "家庭有重病患者，建议纳入", opinion="agree")
    frozen_today(D(2020, 3, 9))
    case = act(case, "end_publicity", officers.a_township)
    with pytest.raises(ValidationError) as refused:
        act(case, "approve", officers.a_approver)
    assert {"override_reason", "override_amount"} <= set(refused.value.message_dict)
    case = act(
        case,
        "approve",
        officers.a_approver,
        override_reason="家庭成员重病，刚性支出大，经集体研究同意纳入",
        override_amount="300",
    )
    assert (
        case.details["decision"]["overridden"]
        and Enrolment.objects.get(decision_case=case).monthly_amount == 300
    )
    assert AuditEntry.objects.filter(
        object_type="intake.case", object_id=str(case.pk), reason__contains="集体研究"
    ).exists()


def test_approval_refused_when_the_household_changed_since_the_evaluation(officers, family, frozen_today):
    household, people = family
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    frozen_today(D(2020, 3, 9))
    case = act(case, "end_publicity", officers.a_township)
    people[1].income_wage_fen = 90_000  # changed in the registry after the evaluation
    people[1].save()
    with pytest.raises(Conflict) as conflict:
        act(case, "approve", officers.a_approver)
    assert "重新调查" in conflict.value.message
    case = act(case, "reinvestigate", officers.a_approver, "收入有变化")
    assert case.state == "reinvestigation"


def test_withdrawal_takes_the_entry_off_the_page(officers, family, frozen_today, client):
    household, people = family
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    assert "张*明" in public_html(client)
    case = act(case, "withdraw", officers.a_village, "申请人家庭收入已恢复，申请撤回")
    assert case.state == "withdrawn" and "张*明" not in public_html(client)


def test_objection_dismissed_keeps_the_publicity_running(officers, family, frozen_today, client):
    household, people = family
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    pub = Publication.objects.get(case=case)
    client.post(reverse("disclosure:objection", args=[pub.pk]), {"phone": "13912345678", "reason": "有车"})
    objection = objection_of(case)
    case = act(
        case, "dismiss_objection", officers.a_township, "车辆为残疾人代步车，不计入", objection=objection.pk
    )
    assert case.state == "publicity" and case.details["objection_decisions"][0]["upheld"] is False
    objection.refresh_from_db()
    assert objection.state == "closed"
    assert "张*明" in public_html(client)
    with pytest.raises(Conflict):  # an objection is decided once
        act(case, "uphold_objection", officers.a_township, "再次", objection=objection.pk)
    frozen_today(D(2020, 3, 9))
    assert act(case, "end_publicity", officers.a_township).state == "awaiting_approval"


def test_an_enrolled_household_cannot_be_enrolled_twice(officers, family, frozen_today):
    household, people = family
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    first = to_evaluated(file_dibao(officers, people[0]), officers, people)
    second = to_evaluated(file_dibao(officers, people[1]), officers, people)
    for case in (first, second):
        act(case, "township_review", officers.a_township, "同意", opinion="agree")
    frozen_today(D(2020, 3, 9))
    first = act(act(first, "end_publicity", officers.a_township), "approve", officers.a_approver)
    second = act(second, "end_publicity", officers.a_township)
    with pytest.raises(Conflict):  # now enrolled: R1 decides `continue`, and the enrolment exists
        act(second, "approve", officers.a_approver)
    assert Enrolment.objects.filter(household=household, status="active").count() == 1
    assert Case.objects.get(pk=second.pk).state == "awaiting_approval"
