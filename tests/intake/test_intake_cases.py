"""Filing, acceptance (条例第17条), the SLA clock with its pauses and the 7/30 switch, insert-only records."""

import datetime
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from doudi.audit.models import AuditEntry
from doudi.core.errors import Conflict
from doudi.intake import flows, selectors, services, sla
from doudi.intake.models import Case, CaseTransition, Comment

D = datetime.date


def test_open_case_gives_tracking_number_ledger_clock_and_audit(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 2))  # Monday
    case = open_case("temporary")
    assert re.fullmatch(r"CQ500101-20200302-\d{5}", case.tracking_number)
    assert case.state == flows.SUBMITTED and case.version == 1 and case.is_open
    (t,) = CaseTransition.objects.filter(case=case)
    assert (t.action, t.from_state, t.to_state, t.seq, t.by_label) == (
        "open",
        "",
        "submitted",
        1,
        "a_township",
    )
    # The acceptance clock: 5 working days from filing.
    assert case.sla_phase == "acceptance" and case.due_on == D(2020, 3, 9)
    assert AuditEntry.objects.filter(
        object_type="intake.case", object_id=str(case.pk), action="create"
    ).exists()


def test_tracking_numbers_are_sequential_per_district_and_day(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 2))
    numbers = [open_case("complaint").tracking_number for _ in range(3)]
    numbers.append(open_case("complaint", by=officers.b_township, region=regions.b_v).tracking_number)
    assert numbers[:3] == [f"CQ500101-20200302-{i:05d}" for i in (1, 2, 3)]
    assert numbers[3] == "CQ500102-20200302-00001"
    frozen_today(D(2020, 3, 3))
    assert open_case("complaint").tracking_number == "CQ500101-20200303-00001"


def test_filing_rules(officers, regions, open_case, make_person):
    with pytest.raises(ValidationError) as exc:
        open_case("dibao", applicant_name="")  # an application names its applicant
    assert "applicant_name" in exc.value.message_dict
    assert open_case("complaint", applicant_name="").applicant_name == ""  # an anonymous report is fine
    with pytest.raises(ValidationError) as exc:
        open_case("temporary", subtype="")
    assert "subtype" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        open_case("temporary", region=regions.b_v)  # outside the filer's subtree
    assert "region" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        open_case("temporary", applicant_id_number="500101198005010000")
    assert "applicant_id_number" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        open_case("temporary", by=officers.supervisor)  # read-only roles never file
    with pytest.raises(PermissionDenied):
        services.open_case(by=None, case_type="complaint", channel="hotline", region=regions.a_v, summary="x")


def test_applicant_linked_by_id_number_within_scope(officers, regions, open_case, make_person):
    person = make_person(regions.a_v, "王五")
    case = open_case("dibao", applicant_id_number=person.id_number, applicant_name="")
    assert case.applicant == person and case.household is not None
    assert case.applicant_name == "王五"
    outsider = make_person(regions.b_v, "赵六", prefix="500102")
    case = open_case("temporary", applicant_id_number=outsider.id_number, applicant_name="赵六")
    assert (
        case.applicant is None and case.applicant_id_number == outsider.id_number
    )  # not linked across scope


def test_village_worker_files_on_behalf(officers, regions, open_case):
    case = open_case("dibao", by=officers.a_village, on_behalf=True)
    assert case.filed_on_behalf and case.filed_by == officers.a_village
    # …and sees it afterwards, while the other village does not.
    assert selectors.cases_for(officers.a_village).filter(pk=case.pk).exists()
    assert not selectors.cases_for(officers.a_village2).filter(pk=case.pk).exists()


def test_accept_starts_the_handling_clock(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 2))
    case = open_case("temporary")
    frozen_today(D(2020, 3, 4))
    case = services.perform_action(case=case, action="accept", by=officers.a_township)
    assert case.state == flows.ACCEPTED and case.accepted_on == D(2020, 3, 4)
    assert case.sla_phase == "handling" and case.sla_limit == 10 and case.sla_unit == sla.WORKING
    assert case.due_on == D(2020, 3, 18)
    assert case.version == 2


def test_missing_items_are_listed_once(officers, open_case, frozen_today):
    frozen_today(D(2020, 3, 2))
    case = open_case("temporary")
    case = services.perform_action(
        case=case,
        action="request_missing",
        by=officers.a_township,
        data={"items": "户口簿复印件\n收入证明\n户口簿复印件\n"},
    )
    assert case.state == flows.AWAITING_DOCUMENTS
    assert case.missing_items == ["户口簿复印件", "收入证明"]
    assert case.due_on is None and case.sla_paused_since == D(2020, 3, 2)  # waiting on the applicant
    frozen_today(D(2020, 3, 9))
    case = services.perform_action(case=case, action="supplement", by=officers.a_village)
    # The acceptance clock resumes: 3–8 Mar were paused, so the 5 working days are 9–13 Mar.
    assert case.state == flows.SUBMITTED and case.due_on == D(2020, 3, 13)
    with pytest.raises(Conflict) as exc:
        services.perform_action(
            case=case, action="request_missing", by=officers.a_township, data={"items": ["身份证"]}
        )
    assert "一次性" in exc.value.message
    assert flows.flow_for("temporary").action("request_missing") not in flows.available_actions(
        case, officers.a_township
    )


def test_request_missing_needs_the_list(officers, open_case):
    case = open_case("temporary")
    with pytest.raises(ValidationError) as exc:
        services.perform_action(
            case=case, action="request_missing", by=officers.a_township, data={"items": " \n"}
        )
    assert "items" in exc.value.message_dict
    assert Case.objects.get(pk=case.pk).state == flows.SUBMITTED


def test_refusals_need_reasons(officers, open_case):
    case = open_case("temporary")
    with pytest.raises(ValidationError) as exc:
        services.perform_action(case=case, action="reject", by=officers.a_township, reason="  ")
    assert "reason" in exc.value.message_dict
    case = services.perform_action(case=case, action="reject", by=officers.a_township, reason="不属于本辖区")
    assert case.state == flows.REJECTED and case.closed_at is not None and case.due_on is None


def test_full_temporary_assistance_path(officers, open_case):
    case = open_case("temporary")
    case = services.perform_action(case=case, action="accept", by=officers.a_township)
    case = services.perform_action(
        case=case, action="approve", by=officers.a_approver, reason="同意", data={"amount": 800}
    )
    assert case.state == flows.APPROVED and case.due_on is None  # decided: the clock stops
    case = services.close_case(case=case, by=officers.a_township, reason="已发放")
    assert case.state == flows.CLOSED and not case.is_open
    assert list(case.transitions.values_list("action", flat=True)) == ["open", "accept", "approve", "close"]


# --- the dibao limit: 7 working days while the window is open, 30 days otherwise --------------------------


def _declare(officers, start, end=None, districts=None):
    from doudi.regions.services import declare_window

    return declare_window(
        by=officers.city_admin,
        name="疫情防控期间",
        start=start,
        end=end,
        districts=districts,
        reason="一级响应",
    )


def test_dibao_limit_switches_with_the_window(officers, open_case, frozen_today):
    from doudi.regions.services import end_window

    frozen_today(D(2020, 3, 2))
    window = _declare(officers, D(2020, 1, 24))
    case = open_case("dibao")
    case = services.perform_action(case=case, action="accept", by=officers.a_township)
    assert (case.sla_limit, case.sla_unit) == (7, sla.WORKING)
    assert case.due_on == D(2020, 3, 11)
    assert "7个工作日" in case.sla_basis

    # The bureau declares the window ended on 1 March, before this case was accepted: 30 days apply.
    frozen_today(D(2020, 3, 5))
    end_window(window, D(2020, 3, 1), officers.city_admin, "降为三级响应")
    case.refresh_from_db()
    assert (case.sla_limit, case.sla_unit) == (30, sla.CALENDAR)
    assert case.due_on == D(2020, 4, 1)

    # A case accepted while the window was open keeps 7 working days after the window ends.
    frozen_today(D(2020, 2, 27))
    early = services.perform_action(case=open_case("dibao"), action="accept", by=officers.a_township)
    assert early.due_on == D(2020, 3, 9)
    frozen_today(D(2020, 3, 6))
    later = services.perform_action(case=open_case("dibao"), action="accept", by=officers.a_township)
    assert later.due_on == D(2020, 4, 7)  # 5 Apr + holiday (清明 4–6 Apr) → Tue 7 Apr


def test_window_opening_later_shortens_open_dibao_cases(officers, open_case, frozen_today):
    frozen_today(D(2020, 1, 20))
    case = services.perform_action(case=open_case("dibao"), action="accept", by=officers.a_township)
    assert case.due_on == D(2020, 2, 19)  # 30 days
    frozen_today(D(2020, 1, 25))
    _declare(officers, D(2020, 1, 20))  # declared with a start covering the acceptance day
    case.refresh_from_db()
    # 7 working days from 20 Jan: 21, 22, 23 Jan, then 3, 4, 5, 6 Feb.
    assert (case.sla_limit, case.due_on) == (7, D(2020, 2, 6))


def test_district_window_applies_only_there(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 2))
    _declare(officers, D(2020, 1, 24), districts=[regions.b])
    a_case = services.perform_action(case=open_case("dibao"), action="accept", by=officers.a_township)
    b_case = open_case("dibao", by=officers.b_township, region=regions.b_v)
    b_case = services.perform_action(case=b_case, action="accept", by=officers.b_township)
    assert a_case.sla_limit == 30 and b_case.sla_limit == 7


def test_transfer_to_another_district_recomputes_the_limit(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 2))
    _declare(officers, D(2020, 1, 24), districts=[regions.b])
    case = services.perform_action(case=open_case("dibao"), action="accept", by=officers.a_township)
    assert case.sla_limit == 30
    transfer = services.transfer_case(
        case=case, by=officers.a_district, to_region=regions.b_t, reason="户籍在涪陵区"
    )
    services.accept_transfer(transfer=transfer, by=officers.b_township)
    case.refresh_from_db()
    assert case.region == regions.b_t and (case.sla_limit, case.due_on) == (7, D(2020, 3, 11))


# --- 条例第19条: deliberation and 公示 pause the clock ----------------------------------------------------------


@pytest.fixture
def publicity_flow():
    """A flow with a 公示 state, registered for 特困 for the test (as the dibao workflow will)."""
    base = flows.FLOWS["tekun"]
    flow = flows.Flow(
        name="with_publicity",
        states={**flows.COMMON_STATES, "publicity": "公示中"},
        initial=flows.SUBMITTED,
        actions=(
            *flows.intake_actions(acceptors=flows.FRONT_DESK),
            flows.Action("publish", "公示", {flows.ACCEPTED}, "publicity", {flows.TOWNSHIP}),
            flows.Action("end_publicity", "公示结束", {"publicity"}, flows.ACCEPTED, {flows.TOWNSHIP}),
            flows.Action("approve", "批准", {flows.ACCEPTED}, flows.APPROVED, {flows.APPROVER}),
            flows.Action(
                "refuse", "不予批准", {flows.ACCEPTED}, flows.REFUSED, {flows.APPROVER}, needs_reason=True
            ),
            flows.Action("close", "办结", {flows.APPROVED}, flows.CLOSED, {flows.TOWNSHIP}),
        ),
        terminal={flows.CLOSED, flows.REJECTED, flows.REFUSED, flows.WITHDRAWN},
        paused={flows.AWAITING_DOCUMENTS, "publicity"},
        stopped={flows.APPROVED},
        clocks={
            flows.SUBMITTED: flows.ACCEPTANCE_CLOCK,
            flows.ACCEPTED: flows.fixed_clock("handling", 7, sla.WORKING, "test"),
        },
    )
    flows.register(flow, "tekun", replace=True)
    yield flow
    flows.FLOWS["tekun"] = base


def test_publicity_days_do_not_count(officers, open_case, frozen_today, publicity_flow):
    frozen_today(D(2020, 3, 2))
    case = services.perform_action(case=open_case("tekun"), action="accept", by=officers.a_township)
    assert case.due_on == D(2020, 3, 11)
    frozen_today(D(2020, 3, 4))
    case = services.perform_action(case=case, action="publish", by=officers.a_township)
    assert case.due_on is None and case.sla_paused_since == D(2020, 3, 4)
    assert not selectors.overdue_cases(officers.a_district, today=D(2020, 4, 30)).filter(pk=case.pk).exists()
    frozen_today(D(2020, 3, 11))
    case = services.perform_action(case=case, action="end_publicity", by=officers.a_township)
    # 4–10 Mar (5 working days) not counted.
    assert case.due_on == D(2020, 3, 18) and case.sla_paused_since is None
    assert selectors.overdue_cases(officers.a_district, today=D(2020, 3, 19)).filter(pk=case.pk).exists()


def test_beyond_calendar_coverage_is_shown_not_crashed(officers, open_case, frozen_today):
    frozen_today(D(sla.LAST_YEAR + 1, 3, 2))
    case = open_case("temporary")
    assert case.due_on is None and str(sla.LAST_YEAR + 1) in case.sla_error
    case = services.perform_action(case=case, action="accept", by=officers.a_township)
    assert case.state == flows.ACCEPTED and case.sla_error  # the work goes on; the limit is flagged


# --- scope, records ------------------------------------------------------------------------------------------


def test_district_a_cannot_see_district_b_cases(officers, regions, open_case):
    b_case = open_case("temporary", by=officers.b_township, region=regions.b_v)
    assert not selectors.cases_for(officers.a_district).filter(pk=b_case.pk).exists()
    with pytest.raises(Http404):
        selectors.case_detail(officers.a_district, b_case.pk)
    with pytest.raises(PermissionDenied):
        services.perform_action(case=b_case, action="accept", by=officers.a_township)
    with pytest.raises(PermissionDenied):
        services.add_comment(case=b_case, by=officers.a_district, text="x")
    assert selectors.case_detail(officers.city_admin, b_case.pk).case == b_case


def test_case_page_read_is_logged_and_lists_actions(officers, open_case):
    case = open_case("temporary")
    detail = selectors.case_detail(officers.a_township, case.pk)
    assert [a.name for a in detail.actions] == ["accept", "request_missing", "reject", "withdraw"]
    assert AuditEntry.objects.filter(
        action="read", object_id=str(case.pk), actor=officers.a_township
    ).exists()
    assert selectors.case_detail(officers.supervisor, case.pk).actions == []


def test_ledger_and_comments_are_insert_only(officers, open_case):
    case = open_case("temporary")
    services.add_comment(case=case, by=officers.a_township, text="已电话联系")
    t = CaseTransition.objects.get(case=case)
    c = Comment.objects.get(case=case)
    for obj in (t, c):
        with pytest.raises(PermissionError):
            obj.save()
        with pytest.raises(PermissionError):
            obj.delete()
    with pytest.raises(PermissionError):
        CaseTransition.objects.filter(case=case).update(reason="x")
    with pytest.raises(PermissionError):
        Comment.objects.filter(case=case).delete()


def test_assignment(officers, open_case):
    case = open_case("temporary")
    case = services.assign_case(case=case, by=officers.a_district, assignee=officers.a_township)
    assert case.assigned_to == officers.a_township and case.version == 2
    with pytest.raises(ValidationError):
        services.assign_case(case=case, by=officers.a_district, assignee=officers.b_township)
    with pytest.raises(ValidationError):
        services.assign_case(case=case, by=officers.a_district, assignee=officers.supervisor)
    with pytest.raises(Conflict):
        services.assign_case(case=case, by=officers.a_district, assignee=None, expected_version=1)


def test_dibao_case_accepted_during_the_2020_spring_festival(officers, open_case, frozen_today):
    # Chongqing's level-I response began on 24 Jan 2020, the first day of the (extended) holiday.
    frozen_today(D(2020, 1, 24))
    _declare(officers, D(2020, 1, 24))
    case = services.perform_action(case=open_case("dibao"), action="accept", by=officers.a_township)
    # Nothing counts until Mon 3 Feb: 3, 4, 5, 6, 7, 10, 11 Feb.
    assert (case.sla_limit, case.sla_unit, case.due_on) == (7, sla.WORKING, D(2020, 2, 11))
    # Accepted the day before the window opened: 30 days → Sat 22 Feb, a rest day, so Mon 24 Feb.
    frozen_today(D(2020, 1, 23))
    before = services.perform_action(case=open_case("dibao"), action="accept", by=officers.a_township)
    assert (before.sla_limit, before.due_on) == (30, D(2020, 2, 24))


def test_free_text_is_stored_without_invisible_characters_and_keeps_its_lines(open_case):
    case = open_case("temporary", summary="\u200b因疫情失业\r\n\u202e家中两名老人\u202c需照料\u200b")
    assert case.summary == "因疫情失业\n家中两名老人需照料"
    with pytest.raises(ValidationError) as exc:
        open_case("temporary", summary="\u200b\u200d\ufeff \n ")  # only invisible characters: blank
    assert "summary" in exc.value.message_dict
