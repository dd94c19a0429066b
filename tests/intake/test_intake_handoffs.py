"""转办 and 转介: their own deadlines and trails; nothing can be dropped between units."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from doudi.core.errors import Conflict
from doudi.intake import flows, selectors, services
from doudi.intake.models import Case, IncomingTransfer, Transfer, TransferStatus

D = datetime.date


def _accepted(open_case, officers, case_type="temporary", **kwargs):
    return services.perform_action(
        case=open_case(case_type, **kwargs), action="accept", by=officers.a_township
    )


def test_transfer_to_another_district_trail(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 2))
    case = _accepted(open_case, officers)
    t = services.transfer_case(
        case=case, by=officers.a_district, to_region=regions.b, reason="申请人户籍在涪陵区"
    )
    assert t.status == TransferStatus.PENDING and t.due_on == D(2020, 3, 5)  # 3 working days
    case.refresh_from_db()
    # Pending: the sender still holds the case; the receiver sees the transfer and may read the case.
    assert case.region == regions.a_v
    assert selectors.cases_for(officers.a_district).filter(pk=case.pk).exists()
    assert not selectors.cases_for(officers.b_district).filter(pk=case.pk).exists()
    assert list(selectors.incoming_transfers(officers.b_district)) == [t]
    assert list(selectors.incoming_transfers(officers.b_township)) == []  # addressed to the district
    detail = selectors.case_detail(officers.b_district, case.pk)
    assert not detail.in_scope and detail.can_receive and detail.actions == []
    with pytest.raises(Http404):
        selectors.case_detail(officers.b_township, case.pk)
    # Nobody acts on a case in flight.
    with pytest.raises(Conflict):
        services.perform_action(case=case, action="approve", by=officers.a_approver)
    with pytest.raises(Conflict):
        services.transfer_case(case=case, by=officers.a_district, to_region=regions.b_t, reason="again")

    # Not accepted by its deadline: overdue for both units.
    frozen_today(D(2020, 3, 6))
    assert selectors.transfer_overdue(selectors.incoming_transfers(officers.b_district).get())
    assert selectors.transfer_overdue(selectors.outgoing_transfers(officers.a_district).get())

    with pytest.raises(PermissionDenied):
        services.accept_transfer(transfer=t, by=officers.a_district)  # the sender cannot accept for B
    services.accept_transfer(transfer=t, by=officers.b_district, note="接收")
    case.refresh_from_db()
    assert case.region == regions.b
    assert selectors.cases_for(officers.b_district).filter(pk=case.pk).exists()
    assert not selectors.cases_for(officers.a_district).filter(pk=case.pk).exists()
    with pytest.raises(Http404):
        selectors.case_detail(officers.a_district, case.pk)
    # The sender keeps the trail: whom, when, accepted by whom.
    trail = selectors.outgoing_transfers(officers.a_district).get()
    assert (trail.status, trail.to_region, trail.responded_by) == (
        TransferStatus.ACCEPTED,
        regions.b,
        officers.b_district,
    )
    assert not selectors.transfer_overdue(trail)
    # …and B now acts on it; the tracking number never changed.
    frozen_today(D(2020, 3, 6), hour=15)
    case = services.perform_action(case=case, action="approve", by=officers.b_approver, data={"amount": 800})
    assert case.state == flows.APPROVED and case.tracking_number.startswith("CQ500101-")
    kinds = [e.kind for e in selectors.case_detail(officers.b_district, case.pk).timeline]
    assert kinds == ["transition", "transition", "transfer", "transfer_response", "transition"]
    with pytest.raises(Conflict):
        services.accept_transfer(transfer=t, by=officers.b_district)


def test_returned_transfer_comes_back_to_the_sender(officers, regions, open_case):
    case = _accepted(open_case, officers)
    t = services.transfer_case(case=case, by=officers.a_township, to_region=regions.b_t, reason="非本地户籍")
    with pytest.raises(ValidationError):
        services.return_transfer(transfer=t, by=officers.b_township, reason="")
    services.return_transfer(transfer=t, by=officers.b_township, reason="经核实户籍仍在万州区")
    case.refresh_from_db()
    assert case.region == regions.a_v
    assert IncomingTransfer.objects.visible_to(officers.b_township).get().status == TransferStatus.RETURNED
    # The case is back in A's queue and can be acted on again.
    assert selectors.work_queue(officers.a_approver).filter(pk=case.pk).exists()
    services.perform_action(case=case, action="approve", by=officers.a_approver, data={"amount": 800})


def test_withdrawn_transfer(officers, regions, open_case):
    case = _accepted(open_case, officers)
    t = services.transfer_case(case=case, by=officers.a_township, to_region=regions.b_t, reason="转涪陵")
    with pytest.raises(PermissionDenied):
        services.withdraw_transfer(transfer=t, by=officers.b_township, reason="x")
    services.withdraw_transfer(transfer=t, by=officers.a_township, reason="填错单位")
    assert Transfer.objects.get(pk=t.pk).status == TransferStatus.WITHDRAWN


def test_routing_inside_own_subtree_takes_effect_at_once(officers, regions, open_case):
    case = open_case("complaint", by=officers.a_district, region=regions.a, channel="hotline")
    t = services.transfer_case(
        case=case, by=officers.a_district, to_region=regions.a_v2, reason="交办属地社区"
    )
    assert t.status == TransferStatus.ACCEPTED
    case.refresh_from_db()
    assert case.region == regions.a_v2
    assert selectors.cases_for(officers.a_village2).filter(pk=case.pk).exists()


def test_non_local_applicant_is_linked_when_the_case_arrives(officers, regions, open_case, make_person):
    person = make_person(regions.b_v, "外地人", prefix="500102")
    case = open_case("temporary", applicant_id_number=person.id_number, applicant_name="外地人")
    assert case.applicant is None
    t = services.transfer_case(case=case, by=officers.a_district, to_region=regions.b, reason="户籍在涪陵区")
    services.accept_transfer(transfer=t, by=officers.b_district)
    case.refresh_from_db()
    assert case.applicant == person and case.household is not None


def test_transfer_validation(officers, regions, open_case):
    case = open_case("temporary")
    with pytest.raises(ValidationError):
        services.transfer_case(case=case, by=officers.a_district, to_region=regions.a_v, reason="x")
    with pytest.raises(ValidationError):
        services.transfer_case(case=case, by=officers.a_district, to_region=regions.city, reason="x")
    with pytest.raises(ValidationError):
        services.transfer_case(case=case, by=officers.a_district, to_region=regions.b, reason=" ")
    with pytest.raises(PermissionDenied):
        services.transfer_case(case=case, by=officers.b_district, to_region=regions.b, reason="x")
    with pytest.raises(Conflict):
        services.transfer_case(
            case=case,
            by=officers.a_district,
            to_region=regions.b,
            reason="x",
            expected_version=case.version + 5,
        )


def test_referral_trail_and_no_close_while_open(officers, regions, open_case, frozen_today):
    frozen_today(D(2020, 3, 2))
    case = open_case("complaint")
    case = services.perform_action(case=case, action="accept", by=officers.a_township)
    r = services.refer_case(
        case=case,
        by=officers.a_township,
        department="human_resources",
        reason="协助就业登记",
        to_unit_name="万州区就业服务中心",
    )
    assert (r.ack_due_on, r.answer_due_on) == (D(2020, 3, 4), D(2020, 3, 16))
    with pytest.raises(Conflict):
        services.perform_action(case=case, action="close", by=officers.a_township, reason="已处理")
    assert "close" not in [
        a.name for a in flows.available_actions(Case.objects.get(pk=case.pk), officers.a_township)
    ]
    frozen_today(D(2020, 3, 5))
    assert r.overdue_on(D(2020, 3, 5))  # not acknowledged in time
    assert list(selectors.open_referrals(officers.a_district)) == [r]
    assert list(selectors.open_referrals(officers.b_district)) == []
    r = services.acknowledge_referral(referral=r, by=officers.a_township, contact="人社局 刘科长")
    frozen_today(D(2020, 3, 5), hour=15)
    assert not r.overdue_on(D(2020, 3, 5))
    with pytest.raises(Conflict):
        services.acknowledge_referral(referral=r, by=officers.a_township)
    with pytest.raises(ValidationError):
        services.answer_referral(referral=r, by=officers.a_township, answer="")
    with pytest.raises(PermissionDenied):
        services.answer_referral(referral=r, by=officers.b_district, answer="x")
    r = services.answer_referral(
        referral=r, by=officers.a_township, answer="已办理失业登记", contact="刘科长"
    )
    assert r.answered_at is not None and not r.overdue_on(D(2020, 12, 1))
    frozen_today(D(2020, 3, 6))
    case = services.perform_action(
        case=Case.objects.get(pk=case.pk), action="close", by=officers.a_township, reason="已处理"
    )
    assert case.state == flows.CLOSED
    kinds = [e.kind for e in selectors.case_detail(officers.a_township, case.pk).timeline]
    assert kinds == ["transition", "transition", "referral", "referral_ack", "referral_answer", "transition"]


def test_referral_answered_without_ack_counts_as_acknowledged(officers, open_case):
    case = open_case("temporary")
    r = services.refer_case(
        case=case, by=officers.a_township, department="medical_security", reason="医疗救助"
    )
    r = services.answer_referral(referral=r, by=officers.a_township, answer="已纳入医疗救助")
    assert r.acknowledged_at == r.answered_at
    with pytest.raises(ValidationError):
        services.refer_case(case=case, by=officers.a_township, department="civil_affairs", reason="x")
