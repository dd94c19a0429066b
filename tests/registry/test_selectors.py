"""Registry reads: region scope, ID search by the unique index, name search, audit of reads."""

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from console.population import build_population
from doudi.audit.models import AuditAction, AuditEntry
from doudi.registry import selectors


@pytest.fixture
def pop(regions, make_user):
    return build_population(regions, make_user)


@pytest.fixture
def officer_a(regions, make_user):
    return make_user("officer_a", regions.a, "district_officer")


@pytest.fixture
def officer_b(regions, make_user):
    return make_user("officer_b", regions.b, "district_officer")


@pytest.fixture
def village_worker(regions, make_user):
    return make_user("worker_a_v", regions.a_v, "village_worker")


def test_normalise_id_number_accepts_lowercase_x_and_rejects_other_shapes():
    assert selectors.normalise_id_number(" 50010119820202123x ") == "50010119820202123X"
    assert selectors.normalise_id_number("500101198202021234") == "500101198202021234"
    assert selectors.normalise_id_number("50010119820202123") is None  # 17 digits
    assert selectors.normalise_id_number("5001011982020212X4") is None  # X not last
    assert selectors.normalise_id_number("张三") is None
    assert selectors.normalise_id_number("") is None


def test_id_search_is_exact_and_accepts_lowercase_x(pop, officer_a):
    assert pop.li.id_number.endswith("X")
    found = list(selectors.search_people(officer_a, pop.li.id_number.lower()))
    assert found == [pop.li]
    # A prefix of an ID number is not an ID search and finds nobody by name either.
    assert list(selectors.search_people(officer_a, pop.li.id_number[:17])) == []


def test_id_search_is_an_equality_on_the_unique_column(pop, officer_a):
    # Equality on the unique id_number is what lets the database answer from its index with 1M rows;
    # a LIKE/UPPER on id_number would not.
    with CaptureQueriesContext(connection) as ctx:
        list(selectors.search_people(officer_a, pop.zhang.id_number.lower()))
    where = ctx.captured_queries[0]["sql"].split("WHERE", 1)[1]
    assert f'"registry_person"."id_number" = \'{pop.zhang.id_number}\'' in where
    assert "UPPER" not in where and 'id_number" LIKE' not in where


def test_id_search_respects_scope(pop, officer_a, officer_b):
    assert list(selectors.search_people(officer_a, pop.zhang_b.id_number)) == []
    assert list(selectors.search_people(officer_b, pop.zhang_b.id_number)) == [pop.zhang_b]
    assert list(selectors.search_households(officer_a, pop.zhang_b.id_number)) == []
    assert list(selectors.search_households(officer_b, pop.zhang_b.id_number)) == [pop.h_b]


def test_name_search_prefix_and_contains_within_scope(pop, officer_a, officer_b):
    assert [p.name for p in selectors.search_people(officer_a, "张")] == ["张三"]
    assert [p.name for p in selectors.search_people(officer_b, "张")] == ["张三丰"]
    assert list(selectors.search_people(officer_a, "三")) == []
    assert [p.name for p in selectors.search_people(officer_a, "三", contains=True)] == ["张三"]
    assert list(selectors.search_people(officer_a, "")) == []


def test_household_search_by_current_member_name(pop, officer_a):
    found = list(selectors.search_households(officer_a, "李四"))
    assert found == [pop.h_a]
    assert found[0].member_count == 2  # 张三 and 李四; 王五 has left
    # 王五 left the household, so a household search on his name finds nothing.
    assert list(selectors.search_households(officer_a, "王五")) == []


def test_search_results_prefetch_current_household_without_n_plus_one(pop, regions):
    from console.population import make_id
    from doudi.registry import services as reg

    for i, name in enumerate(["张甲", "张乙", "张丙"]):
        h = reg.register_household(officer=pop.admin, region=regions.b_v, area_type="rural")
        reg.register_person(
            officer=pop.admin,
            id_number=make_id("500102", "19900101", 60 + i),
            name=name,
            household=h,
            relation="head",
        )
    with CaptureQueriesContext(connection) as ctx:
        people = list(selectors.search_people(pop.admin, "张"))
        households = [m.household.pk for p in people for m in p.current_memberships]
        villages = {p.region.name for p in people}
    assert len(people) == 5 and len(households) == 5 and len(villages) == 2
    assert len(ctx.captured_queries) == 2  # the people, then their current memberships with households


def test_village_worker_sees_only_their_village(pop, village_worker):
    assert {p.name for p in selectors.search_people(village_worker, "赵")} == set()
    assert list(selectors.search_people(village_worker, pop.zhao.id_number)) == []
    assert [p.name for p in selectors.search_people(village_worker, "张")] == ["张三"]
    with pytest.raises(Http404):
        selectors.household_detail(village_worker, pop.h_a2.pk)
    with pytest.raises(Http404):
        selectors.person_detail(village_worker, pop.zhao.pk)
    assert selectors.household_detail(village_worker, pop.h_a.pk).household == pop.h_a


def test_out_of_scope_detail_is_404_and_leaves_no_read(pop, officer_a):
    before = AuditEntry.objects.filter(action=AuditAction.READ).count()
    with pytest.raises(Http404):
        selectors.household_detail(officer_a, pop.h_b.pk)
    with pytest.raises(Http404):
        selectors.person_detail(officer_a, pop.zhang_b.pk)
    assert AuditEntry.objects.filter(action=AuditAction.READ).count() == before


def test_person_detail_records_a_read_each_time(pop, officer_a):
    def reads():
        return AuditEntry.objects.filter(
            action=AuditAction.READ, object_type="registry.person", object_id=str(pop.li.pk), actor=officer_a
        )

    assert reads().count() == 0
    detail = selectors.person_detail(officer_a, pop.li.pk)
    assert detail.person.id_number == pop.li.id_number
    selectors.person_detail(officer_a, pop.li.pk)
    assert reads().count() == 2
    assert reads().first().region_path == pop.li.region.path


def test_household_detail_members_history_categories_and_income(pop, officer_a):
    detail = selectors.household_detail(officer_a, pop.h_a.pk)
    assert [r.person.name for r in detail.current] == ["张三", "李四"]
    assert [(r.person.name, str(r.membership.left_on)) for r in detail.past] == [("王五", "2020-02-01")]
    zhang_row = detail.current[0]
    assert [c.category for c in zhang_row.categories] == ["dibao"]
    totals = detail.income_totals_fen
    assert totals["counted"] == 150_000  # the exempt 100 yuan of 李四 is not counted
    assert totals["income_exempt_fen"] == 10_000
    # The registrations left CREATE/UPDATE entries on the household and its members.
    assert detail.history and all(e.action != AuditAction.READ for e in detail.history)
    types = {e.object_type for e in detail.history}
    assert {"registry.household", "registry.person"} <= types
    # The view itself is logged as a read of the household.
    assert AuditEntry.objects.filter(
        action=AuditAction.READ, object_type="registry.household", object_id=str(pop.h_a.pk)
    ).exists()


def test_household_detail_query_count_does_not_grow_with_members(pop, officer_a):
    with CaptureQueriesContext(connection) as small:
        selectors.household_detail(officer_a, pop.h_a2.pk)
    with CaptureQueriesContext(connection) as large:
        selectors.household_detail(officer_a, pop.h_a.pk)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_audit_history_hides_entries_outside_the_users_subtree(pop, officer_a, village_worker):
    from doudi.audit.services import record

    # An entry about h_a written with district B's path (e.g. before a boundary change) is not shown.
    record(
        actor=None,
        action=AuditAction.UPDATE,
        object_type="registry.household",
        object_id=str(pop.h_a.pk),
        region_path=pop.h_b.region.path,
        reason="elsewhere",
    )
    detail = selectors.household_detail(officer_a, pop.h_a.pk)
    assert "elsewhere" not in [e.reason for e in detail.history]


def test_open_duplicates_scope_and_status(pop, officer_a, officer_b, regions):
    from console.population import make_id
    from doudi.registry import services as reg

    # Same name and birth date in the same village: the registry queues the pair.
    twin = reg.register_person(
        officer=pop.admin, id_number=make_id("500101", "19800101", 12), name="张三", region=regions.a_v
    )
    queued = list(selectors.open_duplicates(officer_a))
    assert [{d.person_id, d.other_id} for d in queued] == [{pop.zhang.pk, twin.pk}]
    assert list(selectors.open_duplicates(officer_b)) == []
    reg.dismiss_duplicate(officer=pop.admin, duplicate=queued[0])
    assert list(selectors.open_duplicates(officer_a)) == []


def test_region_summary_counts_in_scope(pop, officer_a, officer_b, village_worker):
    assert selectors.region_summary(officer_a) == {"households": 2, "persons": 4, "open_duplicates": 0}
    assert selectors.region_summary(officer_b) == {"households": 1, "persons": 1, "open_duplicates": 0}
    assert selectors.region_summary(village_worker) == {"households": 1, "persons": 3, "open_duplicates": 0}
