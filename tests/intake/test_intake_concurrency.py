"""Two officers approving one case at once: exactly one transition, the other gets Conflict (409).
Tracking numbers stay unique under concurrent filing."""

import threading

import pytest
from django.db import connection, connections

from doudi.core.errors import Conflict
from doudi.intake import flows, services
from doudi.intake.models import Case, CaseTransition


def test_stale_version_loses(officers, open_case):
    case = services.perform_action(case=open_case("temporary"), action="accept", by=officers.a_township)
    seen_by_first = Case.objects.get(pk=case.pk)
    seen_by_second = Case.objects.get(pk=case.pk)
    services.perform_action(
        case=seen_by_first,
        action="approve",
        by=officers.a_approver,
        data={"amount": 800},  # the temporary flow approves an amount
        expected_version=seen_by_first.version,
    )
    # The second officer's page showed version 2: refused, whatever the action.
    with pytest.raises(Conflict) as exc:
        services.perform_action(
            case=seen_by_second,
            action="approve",
            by=officers.a_approver2,
            expected_version=seen_by_second.version,
        )
    assert exc.value.errors[0]["path"] == "version"
    with pytest.raises(Conflict):
        services.perform_action(
            case=seen_by_second,
            action="refuse",
            by=officers.a_approver2,
            reason="x",
            expected_version=seen_by_second.version,
        )
    # Without a version the reloaded state decides: already approved.
    with pytest.raises(Conflict):
        services.perform_action(case=seen_by_second, action="approve", by=officers.a_approver2)
    assert CaseTransition.objects.filter(case=case, action="approve").count() == 1
    assert Case.objects.get(pk=case.pk).version == 3


def test_version_guard_in_the_update_itself(officers, open_case):
    """Even if a caller skipped the lock, record_transition's conditional UPDATE refuses a stale row."""
    case = services.perform_action(case=open_case("temporary"), action="accept", by=officers.a_township)
    stale = Case.objects.get(pk=case.pk)
    Case.objects.filter(pk=case.pk).update(version=case.version + 1)
    with pytest.raises(Conflict):
        services.record_transition(stale, flows.APPROVED, by=officers.a_approver, action="approve")


def _race(n, target):
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = target(i)
        except Exception as exc:  # collected and asserted on below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _require_postgres():
    if connection.vendor != "postgresql":
        pytest.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises writers itself")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officers_approve_at_once_on_postgres(officers, open_case):
    _require_postgres()
    for _round in range(3):
        case = services.perform_action(case=open_case("temporary"), action="accept", by=officers.a_township)
        approvers = [officers.a_approver, officers.a_approver2]
        version = case.version

        def approve(i, case=case, approvers=approvers, version=version):
            stale = Case.objects.get(pk=case.pk)
            return services.perform_action(
                case=stale,
                action="approve",
                by=approvers[i],
                reason=f"同意 {i}",
                data={"amount": 800},
                expected_version=version,
            )

        results = _race(2, approve)
        won = [r for r in results if isinstance(r, Case)]
        lost = [r for r in results if isinstance(r, Conflict)]
        assert len(won) == 1 and len(lost) == 1, results
        assert CaseTransition.objects.filter(case=case, action="approve").count() == 1
        assert Case.objects.get(pk=case.pk).state == flows.APPROVED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_tracking_numbers_unique_under_concurrent_filing_on_postgres(officers, regions):
    _require_postgres()
    n = 6
    users = [
        officers.a_township,
        officers.a_district,
        officers.a_district2,
        officers.a_approver,
        officers.a_station,
        officers.a_village,
    ]

    def file(i):
        return services.open_case(
            by=users[i],
            case_type="complaint",
            channel="hotline",
            region=regions.a_v,
            summary=f"来电 {i}",
            applicant_name="匿名",
        )

    results = _race(n, file)
    assert all(isinstance(r, Case) for r in results), results
    numbers = sorted(r.tracking_number for r in results)
    assert len(set(numbers)) == n
    assert [int(x.rsplit("-", 1)[1]) for x in numbers] == list(range(1, n + 1))


def test_tracking_numbers_unique_sequentially(officers, open_case):
    numbers = [open_case("complaint").tracking_number for _ in range(5)]
    assert len(set(numbers)) == 5
