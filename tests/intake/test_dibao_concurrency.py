"""Two approvers approve the same dibao case at once (PostgreSQL, threads): exactly one approval, one
enrolment; the other gets a Conflict (409)."""

import datetime
import threading

import pytest
from django.db import connection, connections

from benefits.support import act, declare_window, file_dibao, make_household, to_evaluated
from doudi.benefits.models import Enrolment
from doudi.core.errors import Conflict
from doudi.intake import services
from doudi.intake.models import Case, CaseTransition

D = datetime.date


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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_on_postgres(officers, regions, frozen_today):
    if connection.vendor != "postgresql":
        pytest.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises writers itself")
    household, people = make_household(regions.a_v, [("张小明", 0), ("李红", 0), ("张乐", 0)])
    frozen_today(D(2020, 3, 2))
    declare_window(officers, D(2020, 1, 24))
    case = to_evaluated(file_dibao(officers, people[0]), officers, people)
    case = act(case, "township_review", officers.a_township, "同意", opinion="agree")
    frozen_today(D(2020, 3, 9))
    case = act(case, "end_publicity", officers.a_township)
    approvers = [officers.a_approver, officers.a_approver2]

    def approve(i):
        return services.perform_action(
            case=Case.objects.get(pk=case.pk),
            action="approve",
            by=approvers[i],
            reason=f"同意 {i}",
            expected_version=case.version,
        )

    results = _race(2, approve)
    won = [r for r in results if isinstance(r, Case)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert CaseTransition.objects.filter(case=case, action="approve").count() == 1
    assert Enrolment.objects.filter(household=household).count() == 1
