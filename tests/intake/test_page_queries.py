"""P4's hot console pages at a fixed number of queries (docs/scale.md): the ID-number search, the case
page and the officer's queue. The counts are pinned so that a change adding a query per row, or a
lookup the page already made, fails here rather than at a million households. A count, never a time.

The case page's count includes appending its read to the audit chain, which the test client runs (as
the server does, after the response has been sent: audit/pending.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from doudi.audit.models import AuditAction, AuditEntry, PendingEntry
from doudi.intake import services
from doudi.intake.models import Case

pytestmark = pytest.mark.django_db

# Measured on SQLite and PostgreSQL. Inside the test's transaction the case page also counts two
# savepoints (chaining its read) and re-reads the parameters' stamp on each use (6 queries) — a server
# outside a transaction reads the stamp at most once a second (parameters/selectors.py).
SEARCH_QUERIES = 6
CASE_PAGE_QUERIES = 26
QUEUE_QUERIES = 8


@pytest.fixture
def desk(client, officers, regions, make_person, open_case):
    """The township officer signed in, with cases of applicants in the registry, some assigned to them,
    one with a comment."""
    people = [make_person(regions.a_v, f"申请人{i}") for i in range(12)]
    cases = [open_case("temporary", applicant=p) for p in people]
    for case in cases[:4]:
        services.assign_case(case=case, by=officers.a_township, assignee=officers.a_township)
    services.add_comment(case=cases[0], by=officers.a_township, text="已电话联系")
    client.force_login(officers.a_township)
    client.get(reverse("console:home"))  # the session and caches warm, as at a desk
    return type("Desk", (), {"client": client, "people": people, "cases": cases})


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_id_number_search_makes_a_fixed_number_of_queries(desk):
    person = desk.people[3]
    url = reverse("console:search") + f"?q={person.id_number}"
    assert _count(desk.client, url) <= SEARCH_QUERIES
    assert person.name in desk.client.get(url).content.decode()


def test_the_case_page_makes_a_fixed_number_of_queries_and_still_logs_the_read(desk):
    case = desk.cases[0]
    url = reverse("intake:case", args=[case.pk])
    reads = AuditEntry.objects.filter(action=AuditAction.READ, object_id=str(case.pk))
    before = reads.count()
    assert _count(desk.client, url) <= CASE_PAGE_QUERIES
    # The read is in the chain once the response is done, nothing left pending.
    assert reads.count() == before + 1 and not PendingEntry.objects.exists()


def test_the_case_page_does_not_query_per_assignee(desk, make_user, regions):
    url = reverse("intake:case", args=[desk.cases[0].pk])
    few = _count(desk.client, url)
    for i in range(5):
        make_user(f"extra_{i}", regions.a_t, "township_officer")
    assert _count(desk.client, url) == few


def test_the_queue_makes_the_same_queries_for_one_row_as_for_many(desk):
    url = reverse("intake:list")
    many = _count(desk.client, url)
    assert many <= QUEUE_QUERIES
    Case.objects.filter(pk__in=[c.pk for c in desk.cases[1:]]).update(state="closed")
    assert _count(desk.client, url) == many
