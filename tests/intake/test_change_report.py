"""家庭情况变化报告 end to end through the services (SQLite and PostgreSQL): a dibao household reports a
change → 受理 (SMS) → new figures → re-evaluation old against new → township review → the district's
decision: a raise from the month of the report, no change, a reduction refused by the window guard and
kept deferred until the window ends, an exit; the enrolment ledger carries the case; SMS "已决定";
the same report twice; bad input; scope."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from benefits.support import act, declare_window, enrolled_dibao, figures
from doudi.audit.models import AuditEntry
from doudi.benefits import evaluation
from doudi.benefits.models import EnrolmentChange
from doudi.core.errors import Conflict
from doudi.intake.models import Case, CaseTransition
from doudi.intake.workflows import change_report
from doudi.portal.models import OutboxMessage
from doudi.registry.models import Household

D = datetime.date


@pytest.fixture
def enrolled(regions):
    return enrolled_dibao(regions.a_v)


def report(officers, person, *, by=None, kinds=("income",), on_behalf=True):
    return change_report.file_report(
        by=by or officers.a_village,
        person=person,
        summary="丈夫复工，工资增加",
        kinds=list(kinds),
        channel="walk_in",
        on_behalf=on_behalf,
    )


def to_awaiting_decision(case, officers, people, wages):
    case = act(case, "accept", officers.a_township)
    case = act(case, "economic_data", officers.a_township, "电话核实", **figures(people, wages))
    case = act(case, "evaluate", officers.a_township)
    return act(case, "township_review", officers.a_township, "情况属实", opinion="agree")


def actions(case):
    return list(CaseTransition.objects.filter(case=case).order_by("seq").values_list("action", flat=True))


def texts(case):
    return list(OutboxMessage.objects.filter(case=case).order_by("pk").values_list("text", flat=True))


def test_a_raise_through_the_whole_flow(
    officers, regions, enrolled, frozen_today, client, django_capture_on_commit_callbacks
):
    household, people, enrolment = enrolled
    declare_window(officers, D(2020, 1, 24))
    frozen_today(D(2020, 4, 28))
    with django_capture_on_commit_callbacks(execute=True):
        case, repeated = report(officers, people[1])  # the village files it for the household
        assert not repeated and case.case_type == "change_report" and case.state == "submitted"
        assert case.region == regions.a_v and case.filed_on_behalf and case.household == household
        case = act(case, "accept", officers.a_township)
    assert "已受理" in texts(case)[0] and case.tracking_number in texts(case)[0]

    frozen_today(D(2020, 5, 6))
    with django_capture_on_commit_callbacks(execute=True):
        case = act(case, "economic_data", officers.a_township, "电话核实", **figures(people, [500, 300, 0]))
        case = act(case, "evaluate", officers.a_township)
        plan = case.details["proposal"]
        assert (plan["change"], plan["current_amount"], plan["new_amount"]) == ("raise", 338, 838)
        # old against new, clause by clause: the evaluation before the change is kept with the case
        assert case.details["evaluation_before"]["dibao"]["amount"] == 338
        rows = {
            r["rule"]: r
            for r in change_report.comparison_rows(
                case.details["evaluation_before"], case.details["evaluation"]
            )
        }
        assert (
            rows["dibao.counted_income"]["old"]["value"] == "1300.0"
            and rows["dibao.counted_income"]["new"]["value"] == "800.0"
        )
        assert rows["dibao.counted_income"]["changed"] and not rows["dibao.standard"]["changed"]
        case = act(case, "township_review", officers.a_township, "情况属实", opinion="agree")
        assert case.state == "awaiting_decision"
        case = act(case, "decide", officers.a_approver, "工资收入减少，按条例第二十八条增发", outcome="raise")
    assert case.state == "closed" and case.closed_at is not None

    enrolment.refresh_from_db()
    assert enrolment.monthly_amount == 838
    change = EnrolmentChange.objects.get(enrolment=enrolment, kind="amount")
    # from the month of the report (April), not the month of the decision (May)
    assert (change.effective_month, change.case_id, change.after["change_report"]) == (
        D(2020, 4, 1),
        case.pk,
        case.tracking_number,
    )
    assert case.details["decision"]["from_month"] == "2020-04-01"
    assert Household.objects.get(pk=household.pk).dibao_last_amount == 838
    # the next month is paid the new amount: R1 for June continues it
    june = evaluation.evaluate_household(household, people[0], on=D(2020, 6, 10))
    assert (june["dibao"]["decision"], june["dibao"]["amount"]) == ("continue", 838)

    messages = texts(case)
    assert (
        len(messages) == 2 and "已决定" in messages[1] and "838" in messages[1] and "2020-04" in messages[1]
    )
    assert actions(case) == ["open", "accept", "economic_data", "evaluate", "township_review", "decide"]
    audited = AuditEntry.objects.filter(object_type="intake.case", object_id=str(case.pk))
    assert audited.count() >= 6  # the filing and every step

    client.force_login(officers.a_township)
    page = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'data-testid="change-panel"' in page and 'data-testid="change-comparison"' in page
    seq = CaseTransition.objects.get(case=case, action="decide").seq
    notice = client.get(reverse("intake:notice", args=[case.pk, seq])).content.decode()
    assert "家庭情况变化核定决定书" in notice and "838" in notice and "行政复议" in notice
    client.force_login(officers.a_approver)
    ledger = client.get(reverse("benefits:enrolment", args=[enrolment.pk])).content.decode()
    assert case.tracking_number in ledger


def test_a_reduction_is_deferred_while_the_window_is_open_and_applied_after(
    officers, enrolled, frozen_today, django_capture_on_commit_callbacks, client
):
    from doudi.regions.services import end_window

    household, people, enrolment = enrolled
    window = declare_window(officers, D(2020, 1, 24))
    frozen_today(D(2020, 5, 6))
    case, _ = report(officers, people[0])
    case = to_awaiting_decision(case, officers, people, [1200, 300, 0])  # counted 1500 → 138
    assert case.details["proposal"]["change"] == "reduce" and case.details["proposal"]["held_by_window"]
    with django_capture_on_commit_callbacks(execute=True):
        case = act(case, "decide", officers.a_approver, "工资收入增加", outcome="reduce")
    assert case.state == "deferred" and case.closed_at is None
    assert (
        case.details["decision"]["deferred"] and "疫情防控期间" in case.details["decision"]["deferred_reason"]
    )
    enrolment.refresh_from_db()
    assert (
        enrolment.monthly_amount == 338 and not EnrolmentChange.objects.filter(enrolment=enrolment).exists()
    )
    assert "暂缓执行" in texts(case)[-1] and "338" in texts(case)[-1]
    client.force_login(officers.a_approver)
    page = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'data-testid="change-deferred"' in page and 'id="change-apply-deferred"' in page
    seq = CaseTransition.objects.get(case=case, action="decide").seq
    notice = client.get(reverse("intake:notice", args=[case.pk, seq])).content.decode()
    assert "暂缓执行" in notice and "338" in notice and "138" in notice

    # still in the window: refused again, nothing written
    with pytest.raises(Conflict):
        act(case, "apply_deferred", officers.a_approver)
    assert Case.objects.get(pk=case.pk).state == "deferred"

    end_window(window, D(2020, 5, 31), officers.city_admin, "解除一级响应")
    frozen_today(D(2020, 6, 10))
    with django_capture_on_commit_callbacks(execute=True):
        case = act(case, "apply_deferred", officers.a_approver, "疫情防控期间已结束")
    assert case.state == "closed"
    enrolment.refresh_from_db()
    assert enrolment.monthly_amount == 138
    change = EnrolmentChange.objects.get(enrolment=enrolment)
    assert (change.effective_month, change.case_id) == (D(2020, 6, 1), case.pk)
    assert case.details["deferred_decision"]["outcome"] == "reduce"
    assert "138" in texts(case)[-1] and "2020-06" in texts(case)[-1]
    # one message per step: the enrolment change sends none of its own for a change report
    assert not OutboxMessage.objects.filter(text__contains="凭受理编号").exclude(case=case).exists()


def test_no_change(officers, enrolled, frozen_today):
    household, people, enrolment = enrolled
    frozen_today(D(2020, 5, 6))
    case, _ = report(officers, people[0], kinds=["work"])
    case = to_awaiting_decision(case, officers, people, [1000, 300, 0])
    assert case.details["proposal"]["change"] == "none"
    case = act(case, "decide", officers.a_approver, "收入未变", outcome="none")
    assert case.state == "closed" and case.details["decision"]["amount"] == 338
    enrolment.refresh_from_db()
    assert enrolment.monthly_amount == 338 and not EnrolmentChange.objects.exists()


def test_an_exit_outside_the_window(officers, enrolled, frozen_today):
    household, people, enrolment = enrolled
    declare_window(officers, D(2020, 1, 24), D(2020, 4, 30))
    frozen_today(D(2020, 6, 10))
    case, _ = report(officers, people[0])
    case = to_awaiting_decision(case, officers, people, [5000, 300, 0])
    assert case.details["proposal"]["change"] == "exit"
    case = act(case, "decide", officers.a_approver, "收入超过低保标准", outcome="exit")
    assert case.state == "closed"
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.end_month) == ("ended", D(2020, 6, 1))
    assert EnrolmentChange.objects.get(enrolment=enrolment, kind="ended").case_id == case.pk


def test_the_decision_must_be_the_evaluated_one_and_not_the_reviewers(
    officers, enrolled, frozen_today, regions
):
    from doudi.accounts.services import create_staff_user

    household, people, enrolment = enrolled
    frozen_today(D(2020, 5, 6))
    case, _ = report(officers, people[0])
    case = act(case, "accept", officers.a_township)
    case = act(case, "economic_data", officers.a_township, "电话核实", **figures(people, [500, 300, 0]))
    case = act(case, "evaluate", officers.a_township)
    both = create_staff_user(
        username="both",
        password="Doudi-test-2020",
        region=regions.a_t,
        roles=["township_officer", "district_approver"],
    )
    case = act(case, "township_review", both, "情况属实", opinion="agree")
    with pytest.raises(PermissionDenied):  # maker-checker
        act(case, "decide", both, "增发", outcome="raise")
    with pytest.raises(ValidationError) as exc:
        act(case, "decide", officers.a_approver, "维持", outcome="none")
    assert "outcome" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        act(case, "decide", officers.a_approver, "", outcome="raise")
    assert "reason" in exc.value.message_dict  # written reasons (条例第29条)
    assert Case.objects.get(pk=case.pk).state == "awaiting_decision"
    enrolment.refresh_from_db()
    assert enrolment.monthly_amount == 338


def test_figures_changed_after_the_evaluation_refuse_the_decision(officers, enrolled, frozen_today):
    household, people, enrolment = enrolled
    frozen_today(D(2020, 5, 6))
    case, _ = report(officers, people[0])
    case = to_awaiting_decision(case, officers, people, [500, 300, 0])
    people[0].income_wage_fen = 0
    people[0].save()
    with pytest.raises(Conflict):
        act(case, "decide", officers.a_approver, "增发", outcome="raise")
    case = act(case, "reinvestigate", officers.a_approver, "收入又有变化")
    assert case.state == "investigated"


def test_the_same_report_twice_is_one_case(officers, enrolled, frozen_today):
    household, people, enrolment = enrolled
    frozen_today(D(2020, 5, 6))
    first, repeated = report(officers, people[0])
    again, repeated_again = report(officers, people[1], by=officers.a_township, on_behalf=False)
    assert (not repeated, repeated_again, again.pk) == (True, True, first.pk)
    assert Case.objects.filter(case_type="change_report").count() == 1
    act(first, "reject", officers.a_township, "重复报告")
    third, repeated_third = report(officers, people[0])
    assert not repeated_third and third.pk != first.pk  # once closed, a new report is a new case


def test_bad_input_names_the_field(officers, enrolled, regions, frozen_today, make_person):
    household, people, enrolment = enrolled
    frozen_today(D(2020, 5, 6))
    with pytest.raises(ValidationError) as exc:
        report(officers, people[0], kinds=[])
    assert "kinds" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        report(officers, people[0], kinds=["lottery"])
    assert "kinds" in exc.value.message_dict
    outsider = make_person(regions.a_v, "王五")  # a household not in dibao
    with pytest.raises(ValidationError) as exc:
        report(officers, outsider)
    assert "applicant_id_number" in exc.value.message_dict
    case, _ = report(officers, people[0])
    case = act(case, "accept", officers.a_township)
    p = people[0].pk
    bad = figures(people, [500, 300, 0]) | {
        f"income_{p}_wage": "1\u200b000",
        f"income_{p}_business": "99999999999999999999",
        "vehicles": "100000",
        f"income_{p}_transfer": "",
    }
    with pytest.raises(ValidationError) as exc:
        act(case, "economic_data", officers.a_township, "电话核实", **bad)
    errors = exc.value.message_dict
    assert {f"income_{p}_wage", f"income_{p}_business", "vehicles"} <= set(errors)
    assert Case.objects.get(pk=case.pk).state == "accepted"
    people[0].refresh_from_db()
    assert people[0].income_wage_fen == 100000  # nothing half-written


def test_out_of_region_officers_get_404(officers, enrolled, frozen_today, client):
    household, people, enrolment = enrolled
    frozen_today(D(2020, 5, 6))
    case, _ = report(officers, people[0])
    with pytest.raises(PermissionDenied):
        act(case, "accept", officers.b_township)
    with pytest.raises(ValidationError):  # another district's officer cannot file for this household
        report(officers, people[0], by=officers.b_township, on_behalf=False)
    client.force_login(officers.b_township)
    assert client.get(reverse("intake:case", args=[case.pk])).status_code == 404
    assert (
        client.post(reverse("intake:act", args=[case.pk, "accept"]), {"version": case.version}).status_code
        == 404
    )
    assert Case.objects.get(pk=case.pk).state == "submitted"


def test_a_deferred_reduction_is_carried_out_by_the_approved_end_of_the_window(
    transactional_db, officers, enrolled, frozen_today, settings, tmp_path
):
    """The district's end-of-window run (benefits.window_end) makes the reduction the rules find on the
    household's data now, and the deferred report closes with it — not left deferred for ever."""
    from doudi.benefits import services as benefits
    from doudi.benefits.models import WindowEndItem
    from doudi.regions.services import end_window

    settings.DOUDI_DATA_DIR = tmp_path / "data"
    household, people, enrolment = enrolled
    window = declare_window(officers, D(2020, 1, 24))
    frozen_today(D(2020, 5, 6))
    case, _ = report(officers, people[0])
    case = to_awaiting_decision(case, officers, people, [1200, 300, 0])  # counted 1500 → 138
    case = act(case, "decide", officers.a_approver, "工资收入增加", outcome="reduce")
    assert case.state == "deferred"

    end_window(window, D(2020, 5, 31), officers.city_admin, "解除一级响应")
    frozen_today(D(2020, 5, 31))
    review = benefits.compute_window_end(
        benefits.prepare_window_end(region=officers.a_district.region, by=officers.a_district)
    )
    item = WindowEndItem.objects.get(review=review, enrolment=enrolment)
    assert (item.kind, item.before_amount, item.after_amount, item.case_id) == ("reduce", 338, 138, case.pk)
    assert item.detail["change_report"] == case.tracking_number
    assert review.summary["reports_left"] == []
    from django.test import Client

    browser = Client()
    browser.force_login(officers.a_approver2)
    page = browser.get(reverse("benefits:window_end", args=[review.pk])).content.decode()
    assert f"暂缓执行的变化报告 {case.tracking_number}" in page
    approval = benefits.approve_window_end(review=review, by=officers.a_approver2)
    benefits.apply_window_end(approval)

    case.refresh_from_db()
    enrolment.refresh_from_db()
    assert case.state == "closed" and case.closed_at is not None
    assert enrolment.monthly_amount == 138
    change = EnrolmentChange.objects.get(enrolment=enrolment)
    assert change.effective_month == D(2020, 6, 1)
    decision = case.details["decision"]
    assert (
        decision["outcome"],
        decision["amount"],
        decision["from_month"],
        decision["enrolment_change"],
    ) == (
        "reduce",
        138,
        "2020-06-01",
        change.pk,
    )
    assert case.details["deferred_decision"]["deferred"] is True
    assert list(CaseTransition.objects.filter(case=case).order_by("-seq").values_list("action", flat=True))[
        :1
    ] == ["apply_deferred"]
    # Applied again (a crash after the item): nothing more.
    benefits.apply_window_end(approval)
    assert EnrolmentChange.objects.filter(enrolment=enrolment).count() == 1
