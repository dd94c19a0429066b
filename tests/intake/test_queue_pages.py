"""The queue's keyset pages (core/pagination.py): every case once, in the queue's order (due date with
cases without one last, filing time, id), forwards and backwards, with nothing counted; a cursor that
does not verify is the first page; the overdue figure stops at its cap."""

from __future__ import annotations

import datetime
import re
from html import unescape

import pytest
from django.urls import reverse

from doudi.core.pagination import count_up_to, keyset_page
from doudi.intake import selectors
from doudi.intake.models import Case

D = datetime.date
DUE = [
    D(2020, 3, 10),
    None,
    D(2020, 3, 5),
    D(2020, 3, 10),
    None,
    D(2020, 3, 1),
    D(2020, 3, 10),
    None,
    D(2020, 3, 5),
]


@pytest.fixture
def queue(officers, open_case):
    """Nine open cases with repeated and missing due dates (ties are broken by filing time, then id)."""
    cases = [open_case("temporary") for _ in DUE]
    for case, due in zip(cases, DUE, strict=True):
        Case.objects.filter(pk=case.pk).update(due_on=due)
    return selectors.work_queue(officers.a_township)


def _expected(qs) -> list[int]:
    rows = list(qs)
    rows.sort(key=lambda c: (c.due_on is None, c.due_on or D.min, c.filed_at, c.pk))
    return [c.pk for c in rows]


@pytest.mark.parametrize("size", [1, 2, 4, 9, 50])
def test_forward_then_back_visits_every_case_once_in_order(queue, size):
    expected = _expected(queue)
    assert len(expected) == len(DUE)
    pages = [keyset_page(queue, selectors.QUEUE_ORDER, size=size)]
    while pages[-1].has_next:
        pages.append(keyset_page(queue, selectors.QUEUE_ORDER, after=pages[-1].next_cursor, size=size))
    assert [c.pk for p in pages for c in p.object_list] == expected
    assert [p.number for p in pages] == list(range(1, len(pages) + 1))
    assert not pages[0].has_previous and all(len(p.object_list) <= size for p in pages)
    back = [pages[-1]]
    while back[-1].has_previous:
        back.append(keyset_page(queue, selectors.QUEUE_ORDER, before=back[-1].previous_cursor, size=size))
    assert [[c.pk for c in p.object_list] for p in reversed(back)] == [
        [c.pk for c in p.object_list] for p in pages
    ]


@pytest.mark.parametrize("cursor", ["garbage", "", "a" * 5000, "\u200b", "eyJ2IjpbXX0:1:sig"])
def test_a_cursor_that_does_not_verify_is_the_first_page(queue, cursor):
    first = keyset_page(queue, selectors.QUEUE_ORDER, size=4)
    for page in (
        keyset_page(queue, selectors.QUEUE_ORDER, after=cursor, size=4),
        keyset_page(queue, selectors.QUEUE_ORDER, before=cursor, size=4),
    ):
        assert [c.pk for c in page.object_list] == [c.pk for c in first.object_list]
        assert page.number == 1


def test_the_queue_page_links_forward_and_keeps_its_filters(officers, queue, client, settings):
    settings.DEBUG = False
    client.force_login(officers.a_township)
    url = reverse("intake:list")
    import doudi.intake.views as views

    expected = _expected(queue)
    old = views.PAGE_SIZE
    views.PAGE_SIZE = 4
    try:
        seen: list[str] = []
        response = client.get(url, {"type": "temporary"})
        while True:
            assert response.status_code == 200
            html = response.content.decode()
            seen += re.findall(r'data-testid="case-row">.*?<a href="/console/cases/(\d+)/"', html, re.S)
            nxt = re.search(r'rel="next" href="\?([^"]+)"', html)
            if not nxt:
                break
            assert "type=temporary" in unescape(nxt.group(1))  # the filter survives the page link
            response = client.get(url + "?" + unescape(nxt.group(1)))
        assert [int(pk) for pk in seen] == expected
        assert client.get(url, {"after": "not-a-cursor"}).status_code == 200
    finally:
        views.PAGE_SIZE = old


def test_a_capped_count_stops_at_its_cap(queue):
    assert count_up_to(queue, cap=100) == count_up_to(queue, cap=len(DUE))
    capped = count_up_to(queue, cap=4)
    assert capped.n == 4 and capped.more
    exact = count_up_to(queue, cap=len(DUE))
    assert exact.n == len(DUE) and not exact.more
