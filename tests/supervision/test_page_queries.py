"""How many queries each supervisors' page makes (S2: the pages at 1,000,000 households p95 ≤ 300 ms):
the figures come from the aggregate tables, one grouped query per table, and nothing is read per row — so
the bounds here hold whatever the number of regions, cases, findings or payment lines. Three of each
page's queries are the session, the user and the user's roles."""

from __future__ import annotations

from django.urls import reverse

from supervision.test_dashboard import APRIL, plant_case, plant_finding, world  # noqa: F401  (the fixture)

# page, who, query, at most this many queries
PAGES = [
    ("dashboard", "city", {"month": APRIL}, 16),
    ("dashboard", "a", {"month": APRIL}, 16),
    ("funds", "city", {"year": "2020"}, 9),
    ("funds", "a", {"year": "2020"}, 9),
    ("inspection", "city", {"district": "500101"}, 15),
    ("annual", "a", {"year": "2020"}, 14),
]


def _pages(client, sup, django_assert_max_num_queries):
    for page, who, query, most in PAGES:
        client.force_login(getattr(sup, who))
        url = reverse(f"supervision:{page}")
        with django_assert_max_num_queries(most):
            assert client.get(url, query).status_code == 200, (page, who)


def test_each_page_asks_a_bounded_number_of_queries_whatever_the_data(
    world,  # noqa: F811
    client,
    django_assert_max_num_queries,
):
    _pages(client, world.sup, django_assert_max_num_queries)
    # Ten times the cases and findings, in more villages and states: not one query more.
    r = world.regions
    for i in range(10):
        for region in (r.a_v, r.a_v2, r.a_t, r.b_v):
            plant_case(
                region, case_type=("dibao", "complaint")[i % 2], state=("accepted", "submitted")[i % 2]
            )
            plant_finding(region, state=("open", "assigned", "confirmed")[i % 3])
    _pages(client, world.sup, django_assert_max_num_queries)


def test_the_drill_down_list_is_one_page_of_rows_in_a_bounded_number_of_queries(
    world,  # noqa: F811
    client,
    django_assert_max_num_queries,
):
    client.force_login(world.sup.a)
    url = reverse("supervision:drill", args=["cases"])
    for i in range(12):
        plant_case(world.regions.a_v, state=("accepted", "submitted")[i % 2])
    with django_assert_max_num_queries(12):
        page = client.get(url, {"month": APRIL, "overdue": "1"})
    assert page.status_code == 200 and page.context["page"].paginator.count >= 1
    with django_assert_max_num_queries(12):
        assert client.get(url, {"month": APRIL}).context["page"].paginator.count >= 12
