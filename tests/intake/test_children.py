"""Children's fast track (一(四)): commitment instead of proofs in the window only, the deferred-documents
checklist and its due dates after the window ends, the decision due in the month of application, and
the approval from that month."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.core.errors import Conflict
from doudi.intake import flows, sla
from doudi.intake.models import Case
from doudi.intake.workflows import children

D = datetime.date
pytestmark = pytest.mark.django_db


def _declare(officers, start, end=None):
    from doudi.regions.services import declare_window

    return declare_window(
        by=officers.city_admin, name="疫情防控期间", start=start, end=end, reason="一级响应"
    )


def _child_case(open_case, regions, *, commitment=True, uploaded=(), subtype="orphan", on=None, **kwargs):
    details = children.application_details(
        subtype=subtype, region=regions.a_v, on=on, uploaded=set(uploaded), commitment=commitment
    )
    return open_case("children", subtype=subtype, details=details, **kwargs)


# --- commitment -----------------------------------------------------------------------------------------------


def test_commitment_replaces_missing_proofs_in_the_window(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    _declare(officers, D(2020, 1, 24))
    case = _child_case(open_case, regions, uploaded={"household_register"}, on=D(2020, 3, 10))
    assert case.details["commitment"]["given_on"] == "2020-03-10"
    assert [i["key"] for i in case.details["deferred_documents"]] == ["parents_death", "guardian_statement"]
    assert case.details["proofs"] == ["household_register"]
    # Everything missing is deferred, not a reason to hold the application back.
    with pytest.raises(Conflict):
        flows.require_transition(case, "request_missing", officers.a_township)
    assert flows.flow_for("children").action("accept") in flows.available_actions(case, officers.a_township)


def test_commitment_refused_outside_the_window(officers, regions, frozen_today):
    frozen_today(D(2020, 3, 10))
    with pytest.raises(ValidationError) as exc:
        children.application_details(
            subtype="orphan", region=regions.a_v, on=D(2020, 3, 10), uploaded=set(), commitment=True
        )
    assert "commitment" in exc.value.message_dict
    # Window ended before the filing day: still refused.
    _declare(officers, D(2020, 1, 24), end=D(2020, 3, 9))
    with pytest.raises(ValidationError):
        children.application_details(
            subtype="orphan", region=regions.a_v, on=D(2020, 3, 10), uploaded=set(), commitment=True
        )


def test_missing_proofs_without_commitment_name_them(officers, regions, frozen_today):
    frozen_today(D(2020, 3, 10))
    _declare(officers, D(2020, 1, 24))
    with pytest.raises(ValidationError) as exc:
        children.application_details(
            subtype="hardship_child",
            region=regions.a_v,
            on=D(2020, 3, 10),
            uploaded={"hardship_proof"},
            commitment=False,
        )
    message = exc.value.message_dict["proofs"][0]
    assert "儿童户口簿" in message and "个人承诺" in message  # in the window the commitment is offered
    complete = children.application_details(
        subtype="hardship_child",
        region=regions.a_v,
        on=D(2020, 3, 10),
        uploaded={"hardship_proof", "household_register"},
        commitment=False,
    )
    assert complete == {"proofs": ["hardship_proof", "household_register"]}


def test_commitment_recorded_at_the_counter_only_in_the_window(officers, regions, open_case, frozen_today):
    from doudi.intake import services

    frozen_today(D(2020, 3, 10))
    outside = open_case("children")
    with pytest.raises(ValidationError):
        services.perform_action(
            case=outside, action="record_commitment", by=officers.a_village, data={"items": "父母死亡证明"}
        )
    _declare(officers, D(2020, 1, 24))
    inside = open_case("children")
    inside = services.perform_action(
        case=inside, action="record_commitment", by=officers.a_village, data={"items": "父母死亡证明\n户口簿"}
    )
    assert inside.state == flows.SUBMITTED
    assert [i["label"] for i in inside.details["deferred_documents"]] == ["父母死亡证明", "户口簿"]
    assert inside.transitions.last().action == "record_commitment"


# --- the deferred-documents checklist ---------------------------------------------------------------------------


def test_deferred_due_dates_after_the_window_ends(officers, regions, open_case, frozen_today, settings):
    from doudi.intake import services
    from doudi.regions.services import end_window

    settings.DOUDI_CHILDREN_DEFERRED_DOCUMENT_DAYS = 10
    frozen_today(D(2020, 3, 10))
    window = _declare(officers, D(2020, 1, 24))
    case = _child_case(open_case, regions, on=D(2020, 3, 10))
    items = children.deferred_checklist(case, D(2020, 3, 10))
    assert len(items) == 3 and all(i.due_on is None and not i.overdue for i in items)  # window still open

    end_window(window, D(2020, 4, 30), officers.city_admin, "降为三级响应")
    case.refresh_from_db()
    # 10 working days after Thu 30 Apr, skipping the Labour Day holiday (1–5 May; Sat 9 May is a workday).
    due = sla.add_working_days(D(2020, 4, 30), 10)
    assert due == D(2020, 5, 18)
    items = children.deferred_checklist(case, due)
    assert {i.due_on for i in items} == {due} and not any(i.overdue for i in items)
    late = children.deferred_checklist(case, due + datetime.timedelta(days=1))
    assert all(i.overdue for i in late)

    # A proof handed in is ticked off and no longer overdue.
    case = services.perform_action(case=case, action="accept", by=officers.a_township)
    case = services.perform_action(
        case=case, action="document_received", by=officers.a_village, data={"document": "parents_death"}
    )
    late = {i.key: i for i in children.deferred_checklist(case, due + datetime.timedelta(days=1))}
    assert late["parents_death"].status == "received" and not late["parents_death"].overdue
    assert late["guardian_statement"].overdue
    with pytest.raises(ValidationError):
        services.perform_action(
            case=case, action="document_received", by=officers.a_village, data={"document": "nope"}
        )


def test_online_submission_marks_the_item_submitted(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    _declare(officers, D(2020, 1, 24))
    case = _child_case(open_case, regions, on=D(2020, 3, 10))

    class _Attachment:
        pk = 99

    case = children.submit_deferred_document(case=case, key="parents_death", attachment=_Attachment())
    item = next(i for i in children.deferred_checklist(case) if i.key == "parents_death")
    assert (item.status, item.submitted_on) == ("submitted", "2020-03-10")
    with pytest.raises(ValidationError):
        children.submit_deferred_document(case=case, key="unknown", attachment=_Attachment())


# --- the decision in the month of application ---------------------------------------------------------------


def test_sla_is_the_last_working_day_of_the_application_month(officers, regions, open_case, frozen_today):
    from doudi.intake import services

    _declare(officers, D(2020, 1, 24))
    frozen_today(D(2020, 2, 10))
    case = _child_case(open_case, regions, on=D(2020, 2, 10))
    assert case.due_on == D(2020, 2, 28)  # Sat 29 Feb is a rest day
    assert children.decision_due_on(case) == D(2020, 2, 28)
    assert "当月审批" in case.sla_basis
    frozen_today(D(2020, 2, 12))
    case = services.perform_action(case=case, action="accept", by=officers.a_township)
    assert case.due_on == D(2020, 2, 28)  # acceptance does not restart the month's clock
    frozen_today(D(2020, 3, 2))
    assert Case.objects.overdue(D(2020, 3, 2)).filter(pk=case.pk).exists()

    frozen_today(D(2020, 9, 30))  # still in the (open) window; Oct 1–8 is the National Day holiday
    late_month = _child_case(open_case, regions, on=D(2020, 9, 30))
    assert late_month.due_on == D(2020, 9, 30)


def test_outside_the_window_the_ordinary_limit_applies(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 10))
    case = open_case("children", details={"proofs": []})
    assert (case.sla_limit, case.sla_unit) == (30, sla.CALENDAR)
    assert case.due_on == D(2020, 4, 9)
    assert children.decision_due_on(case) is None
    # A window declared later covering the filing day switches the case to the month rule.
    _declare(officers, D(2020, 1, 24))
    case.refresh_from_db()
    assert case.due_on == D(2020, 3, 31)


@settings(max_examples=40, deadline=None)
@given(st.dates(min_value=D(2020, 1, 1), max_value=D(2025, 12, 31)))
def test_last_working_day_is_a_working_day_in_the_month_with_none_after(day):
    last = children.last_working_day(day)
    assert (last.year, last.month) == (day.year, day.month) and sla.is_workday(last)
    following = last + datetime.timedelta(days=1)
    while following.month == day.month:
        assert not sla.is_workday(following)
        following += datetime.timedelta(days=1)


def test_approval_from_the_application_month(officers, regions, open_case, make_person, frozen_today):
    from doudi.intake import services
    from doudi.registry.models import PersonCategory

    _declare(officers, D(2020, 1, 24))
    child = make_person(regions.a_v, "王小明", birth=D(2012, 6, 1))
    frozen_today(D(2020, 3, 20))
    case = _child_case(open_case, regions, on=D(2020, 3, 20), applicant=child)
    case = services.perform_action(case=case, action="accept", by=officers.a_township)
    frozen_today(D(2020, 4, 2))  # decided late: the allowance still starts in March, and it shows
    case = services.perform_action(case=case, action="approve", by=officers.a_approver, reason="同意")
    decision = case.details["decision"]
    assert (decision["from_month"], decision["amount"], decision["kind"]) == ("2020-03-01", 1200, "scattered")
    assert decision["in_application_month"] is False
    grant = PersonCategory.objects.get(person=child, category="orphan")
    assert grant.valid_from == D(2020, 3, 1)
    enrolment = case.details["enrolment"]
    assert enrolment["status"] in {"enrolled", "not_enrolled"} and (
        enrolment["status"] == "enrolled" or enrolment["reason"]
    )
    if enrolment["status"] == "enrolled":
        assert enrolment["from_month"] == "2020-03-01"
    # The checklist must be complete before the case is closed.
    with pytest.raises(Conflict):
        services.perform_action(case=case, action="close", by=officers.a_township)
    for key in ("parents_death", "household_register", "guardian_statement"):
        case = services.perform_action(
            case=case, action="deferred_document_received", by=officers.a_village, data={"document": key}
        )
    case = services.perform_action(case=case, action="close", by=officers.a_township)
    assert case.state == flows.CLOSED


def test_approval_needs_the_child_in_the_registry(officers, regions, open_case, frozen_today):
    from doudi.intake import services

    frozen_today(D(2020, 3, 20))
    case = services.perform_action(case=open_case("children"), action="accept", by=officers.a_township)
    with pytest.raises(ValidationError) as exc:
        services.perform_action(case=case, action="approve", by=officers.a_approver)
    assert "child" in exc.value.message_dict
    assert Case.objects.get(pk=case.pk).state == flows.ACCEPTED


def test_case_page_shows_the_checklist_and_the_month_deadline(
    officers, regions, open_case, frozen_today, client
):
    from django.urls import reverse

    frozen_today(D(2020, 3, 10))
    _declare(officers, D(2020, 1, 24))
    case = _child_case(open_case, regions, on=D(2020, 3, 10))
    client.force_login(officers.a_township)
    html = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'data-testid="children-panel"' in html and 'data-testid="deferred-checklist"' in html
    assert "2020-03-31" in html and "申请当月最后一个工作日" in html
    assert "父母死亡证明" in html


def test_a_proof_key_means_the_same_document_for_every_kind():
    labels = {}
    for documents in children.DOCUMENTS.values():
        for key, label in documents.items():
            assert labels.setdefault(key, str(label)) == str(label), key
