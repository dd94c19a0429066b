"""监管看板: each figure equals the list behind it (drill-down), region scope (a district's supervisor sees
only their district; elsewhere is a 404), every list's Excel export opens with the same rows, hostile
query strings never give a 500."""

from __future__ import annotations

import datetime as dt
import io
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from doudi.policy.periods import Period
from doudi.regions.models import Region
from doudi.supervision import dashboard
from doudi.supervision.figures import refresh_contacts
from supervision.conftest import supervisors_for

URL = reverse("supervision:dashboard")
APRIL = "2020-04"
_n = itertools.count(1)


def drill(kind):
    return reverse("supervision:drill", args=[kind])


def plant_case(region, *, case_type="dibao", state="accepted", due=None, closed=False):
    from doudi.intake.models import Case

    return Case.objects.create(
        tracking_number=f"T{next(_n):08d}",
        case_type=case_type,
        channel="walk_in",
        state=state,
        region=region,
        summary="—",
        applicant_name="王小明",
        filed_at=timezone.now(),
        due_on=due,
        closed_at=timezone.now() if closed else None,
    )


def plant_finding(region, state="open", fen=10_000):
    from doudi.supervision.models import CheckRun, Finding

    run = CheckRun.objects.create(month=APRIL, trigger="command", started_at=timezone.now())
    return Finding.objects.create(
        key=f"paid_twice:{APRIL}:{next(_n)}",
        check_code="paid_twice",
        month=APRIL,
        region=region,
        district=region.path.split("/")[1],
        amount_fen=fen,
        state=state,
        first_run=run,
        last_run=run,
        found_at=timezone.now(),
    )


@pytest.fixture
def world(paid_world):
    w = paid_world
    r = w.regions
    past, future = dt.date(2020, 1, 1), timezone.localdate() + dt.timedelta(days=30)
    plant_case(r.a_v, due=past)
    plant_case(r.a_v2, due=future)
    plant_case(r.a_t, case_type="complaint", state="submitted", due=past)
    plant_case(r.b_v, due=past)
    plant_case(r.b_v, due=past, closed=True)  # closed: in no figure
    plant_finding(r.a_v)
    plant_finding(r.a_v2, state="confirmed")
    plant_finding(r.b_v, fen=5_000)
    refresh_contacts(timezone.localdate())
    w.sup = supervisors_for(r)
    return w


def test_every_figure_equals_the_list_behind_it(world, client):
    client.force_login(world.sup.city)
    city = Region.objects.get(code="500000")
    board = dashboard.dashboard(world.sup.city, city, Period.parse(APRIL))
    assert [r.region.code for r in board.rows] == ["500101", "500102"]
    for row in [*board.rows, board.total]:
        code = row.region.code
        base = {"region": code, "month": APRIL}
        figures = {
            ("cases", ()): row.open_cases,
            ("cases", (("overdue", "1"),)): row.overdue,
            ("coverage", ()): row.poor,
            ("coverage", (("covered", "1"),)): row.covered,
            ("findings", (("open", "1"),)): row.findings_open,
            ("contacts", ()): row.contacts_overdue,
        }
        for (kind, extra), figure in figures.items():
            page = client.get(drill(kind), {**base, **dict(extra)})
            assert page.status_code == 200
            assert page.context["page"].paginator.count == figure, (code, kind, extra)
        lines = client.get(drill("payments"), base).context["spec"]
        assert lines.summary[1][1] == row.due_fen
    a = board.rows[0]
    assert (a.open_cases, a.overdue, a.findings_open) == (3, 2, 1)
    assert board.total.open_cases == 4 and board.total.overdue == 3
    assert board.total.poor == 3 and board.total.contacts_overdue >= 1
    # Each case type and state figure drills to its cases.
    for c in board.cases_by_state:
        q = {"region": "500000", "month": APRIL, "case_type": c["case_type"], "state": c["state"]}
        assert client.get(drill("cases"), q).context["page"].paginator.count == c["n"]
        assert client.get(drill("cases"), {**q, "overdue": "1"}).context["page"].paginator.count == c["late"]
    for p in board.payments_by_scheme:
        spec = client.get(
            drill("payments"), {"region": "500000", "month": APRIL, "scheme": p["scheme"]}
        ).context["spec"]
        assert spec.summary[0][1] == p["n"] and spec.summary[1][1] == p["due_fen"]
    for f in board.findings_by_state:
        q = {"region": "500000", "month": APRIL, "state": f["state"]}
        assert client.get(drill("findings"), q).context["page"].paginator.count == f["n"]


def test_figures_equal_the_monthly_report(world):
    from doudi.reports.selectors import monthly_report

    city = Region.objects.get(code="500000")
    report = monthly_report(city, Period.parse(APRIL))
    board = dashboard.dashboard(world.sup.city, city, Period.parse(APRIL))
    for row, rep in zip(board.rows, report.rows, strict=True):
        assert (row.due_fen, row.paid_fen, row.poor, row.covered) == (
            rep.due_fen,
            rep.paid_fen,
            rep.poor,
            rep.covered,
        )


def test_district_supervisor_sees_only_their_district(world, client):
    client.force_login(world.sup.a)
    page = client.get(URL, {"month": APRIL})
    assert page.status_code == 200
    board = page.context["board"]
    assert board.region.code == "500101" and [r.region.code for r in board.rows] == ["500101001"]
    assert board.total.open_cases == 3 and board.total.findings_open == 1
    assert "涪陵区" not in page.content.decode()
    for target in (
        URL,
        drill("cases"),
        drill("payments"),
        drill("coverage"),
        drill("findings"),
        drill("contacts"),
    ):
        assert client.get(target, {"region": "500102", "month": APRIL}).status_code == 404
        assert client.get(target, {"region": "500000", "month": APRIL}).status_code == 404
    # A township is not a dashboard of its own (figures are kept per township).
    assert client.get(URL, {"region": "500101001", "month": APRIL}).status_code == 404
    # Without a supervision role: 403.
    client.force_login(world.sup.township)
    assert client.get(URL).status_code == 403
    assert client.get(drill("cases")).status_code == 403


@pytest.mark.parametrize("kind", ["cases", "payments", "coverage", "findings", "contacts"])
def test_every_list_exports_to_excel_that_opens(world, client, kind):
    from doudi.audit.models import AuditEntry

    client.force_login(world.sup.city)
    page = client.get(drill(kind), {"region": "500000", "month": APRIL})
    response = client.get(drill(kind), {"region": "500000", "month": APRIL, "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) - 1 == page.context["page"].paginator.count
    assert rows[0][0] == str(page.context["spec"].headers[0])
    text = " ".join(str(v) for row in rows for v in row if v is not None)
    assert "王小明" not in text and "孙老" not in text  # names masked
    assert AuditEntry.objects.filter(action="export", object_type=f"supervision.{kind}").count() == 1


@pytest.mark.parametrize(
    "query",
    [
        {"month": "2020-13"},
        {"month": "abc"},
        {"month": "２０２０-０４"},
        {"month": "2020-04\u200b", "region": "\u200b500000"},
        {"region": "' OR 1=1 --"},
        {"region": "9" * 500},
        {"case_type": "nope", "state": "<script>", "overdue": "yes"},
        {"scheme": "x" * 1000, "covered": "2", "open": "\x00", "page": "-1"},
    ],
)
def test_hostile_queries_never_500(world, client, query):
    client.force_login(world.sup.city)
    for target in (
        URL,
        drill("cases"),
        drill("payments"),
        drill("coverage"),
        drill("findings"),
        drill("contacts"),
    ):
        assert client.get(target, query).status_code in (200, 400, 404)
    assert client.get(reverse("supervision:drill", args=["secrets"])).status_code == 404


def test_stale_figures_are_said_and_refresh_is_queued(world, client):
    from doudi.supervision.models import FigureRefresh

    FigureRefresh.objects.filter(month=APRIL).update(stamp="old")
    client.force_login(world.sup.city)
    page = client.get(URL, {"month": APRIL}).content.decode()
    assert "统计待刷新" in page
    response = client.post(reverse("supervision:refresh"), {"month": APRIL})
    assert response.status_code == 302
    assert client.post(reverse("supervision:refresh"), {"month": "bad"}).status_code == 400
