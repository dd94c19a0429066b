"""督查: the district's page (months by scheme, findings, overdue cases, 公示 coverage), the random draw —
reproducible from its recorded seed, recorded (who, when, which files, audited), printable — scope and
bad input."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from doudi.supervision import inspection
from doudi.supervision.models import SampleDraw

URL = reverse("supervision:inspection")
DRAW = reverse("supervision:draw_new")
_n = itertools.count(1)
D = dt.date


def decided(region, *, case_type="dibao", state="approved", on=D(2020, 3, 20)):
    from doudi.intake.models import Case

    at = timezone.make_aware(dt.datetime.combine(on, dt.time(10)))
    return Case.objects.create(
        tracking_number=f"D{next(_n):08d}",
        case_type=case_type,
        channel="walk_in",
        state=state,
        region=region,
        summary="—",
        applicant_name="李四海",
        filed_at=at,
        closed_at=at,
    )


def publish(case, start, days=7, withdrawn=False):
    from doudi.disclosure.models import Publication

    return Publication.objects.create(
        case=case,
        kind="first",
        start_date=start,
        end_date=start + dt.timedelta(days=days - 1),
        masked_name="李*海",
        masked_id="500101********1234",
        village=case.region,
        village_name=case.region.name,
        scheme=case.case_type,
        amount=300,
        created_at=timezone.now(),
        withdrawn_at=timezone.now() if withdrawn else None,
    )


@pytest.fixture
def files(regions):
    """Twelve decided files in A (two withdrawn, not decided on the merits), three in B."""
    ids = [decided(regions.a_v).pk for _ in range(8)]
    ids += [decided(regions.a_v2, case_type="tekun", state="refused").pk for _ in range(2)]
    decided(regions.a_v, state="withdrawn")
    decided(regions.a_v, state="rejected")
    decided(regions.a_v, on=D(2021, 6, 1))  # outside the dates
    for _ in range(3):
        decided(regions.b_v)
    return ids


def draw(user, district, **kw):
    args = {
        "case_types": ["dibao", "tekun"],
        "date_from": "2020-01-01",
        "date_to": "2020-12-31",
        "size": "4",
        "seed": "abc123",
    }
    args.update(kw)
    return inspection.draw_sample(by=user, district=district, **args)


def test_the_draw_is_reproducible_and_recorded(files, supervisors, regions):
    from doudi.audit.models import AuditEntry

    first = draw(supervisors.city, regions.a)
    assert first.population == 10 and first.size == 4
    assert set(first.case_ids) <= set(files)
    # The same seed over the same population: the same files, in the same order.
    assert draw(supervisors.a, regions.a).case_ids == first.case_ids
    assert inspection.sample(sorted(files), "abc123", 4) == first.case_ids
    assert inspection.replay(first) == inspection.Replay(population_same=True, files_same=True)
    # Another seed draws other files (for this population and these seeds).
    assert draw(supervisors.city, regions.a, seed="other-seed").case_ids != first.case_ids
    # A blank seed is generated, recorded, and replays.
    random_draw = draw(supervisors.city, regions.a, seed="\u200b")
    assert len(random_draw.seed) == 16 and inspection.replay(random_draw).files_same
    # Recorded: who, when, which files, and an audit entry per draw.
    assert SampleDraw.objects.count() == 4
    assert first.drawn_by == supervisors.city and first.drawn_at is not None
    assert AuditEntry.objects.filter(object_type__icontains="sampledraw").count() == 4
    # Insert-only.
    with pytest.raises(PermissionError):
        first.save()
    # The population changes: the record says so.
    decided(regions.a_v)
    assert not inspection.replay(first).population_same
    # Asking for more files than there are draws them all.
    assert draw(supervisors.city, regions.a, size="200").size == 11


def test_draw_page_is_printable_and_masks_names(files, supervisors, regions, client):
    d = draw(supervisors.a, regions.a)
    client.force_login(supervisors.a)
    page = client.get(reverse("supervision:draw", args=[d.pk])).content.decode()
    assert "abc123" in page and "data-print" in page and "结果一致" in page
    assert page.count('href="/console/cases/') >= 4 or page.count("D0") >= 4
    assert "李四海" not in page and "李*海" in page


def test_draw_through_the_form_and_scope(files, supervisors, regions, client):
    client.force_login(supervisors.a)
    data = {
        "district": "500101",
        "case_types": ["dibao"],
        "date_from": "2020-01-01",
        "date_to": "2020-12-31",
        "size": "2",
    }
    response = client.post(DRAW, data)
    assert response.status_code == 302
    d = SampleDraw.objects.get()
    assert d.case_types == ["dibao"] and d.population == 8
    # B is out of A's supervisor's scope: its page, its draws, a draw of it.
    assert client.get(URL, {"district": "500102"}).status_code == 404
    assert client.post(DRAW, {**data, "district": "500102"}).status_code == 404
    b_draw = draw(supervisors.b, regions.b, case_types=["dibao"])
    assert client.get(reverse("supervision:draw", args=[b_draw.pk])).status_code == 404
    client.force_login(supervisors.township)
    assert client.get(URL).status_code == 403
    assert client.post(DRAW, data).status_code == 403


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("size", "0"),
        ("size", "201"),
        ("size", "abc"),
        ("size", ""),
        ("seed", "a b"),
        ("seed", "x" * 33),
        ("seed", "种子"),
        ("date_from", "2020-02-30"),
        ("date_to", "2019-01-01"),
        ("date_to", "2024-01-01"),
        ("case_types", ["complaint"]),
        ("case_types", []),
    ],
)
def test_bad_draw_input_is_refused_by_field(files, supervisors, regions, client, field, value):
    client.force_login(supervisors.city)
    data = {
        "district": "500101",
        "case_types": ["dibao"],
        "date_from": "2020-01-01",
        "date_to": "2020-12-31",
        "size": "2",
        "seed": "ok",
        field: value,
    }
    response = client.post(DRAW, data)
    assert response.status_code == 422
    assert field in response.context["errors"]
    assert not SampleDraw.objects.exists()


def test_no_files_in_the_dates_is_said(files, supervisors, regions):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        draw(supervisors.city, regions.a, date_from="2019-01-01", date_to="2019-12-31")
    assert "date_to" in exc.value.message_dict


def test_disclosure_coverage_counts_full_short_and_none(regions):
    full = decided(regions.a_v, on=D(2020, 3, 20))
    publish(full, D(2020, 3, 10))  # 10–16 March, decided on the 20th
    short = decided(regions.a_v, on=D(2020, 3, 20))
    publish(short, D(2020, 3, 15))  # runs to the 21st: decided before the end
    withdrawn = decided(regions.a_v, on=D(2020, 3, 20))
    publish(withdrawn, D(2020, 3, 1), withdrawn=True)
    decided(regions.a_v, on=D(2020, 3, 20))  # never published
    decided(regions.a_v, case_type="temporary", state="closed")  # no 公示 required: not counted
    decided(regions.b_v)  # another district
    counts = inspection.disclosure_coverage(regions.a, D(2020, 1, 1), D(2020, 12, 31))
    assert counts == {"decided": 4, "full": 1, "short": 2, "none": 1}


def test_the_page_shows_the_months_findings_and_overdue_cases(regions, supervisors, client):
    from doudi.intake.models import Case
    from doudi.payments.models import PayrollRun
    from doudi.supervision.models import CheckRun, Finding, MonthFigure

    for month in ("2020-03", "2020-04"):
        PayrollRun.objects.create(month=month, status="computed", computed_at=timezone.now())
        MonthFigure.objects.create(
            month=month,
            region=regions.a_t,
            district="500101",
            scheme="dibao",
            area="urban",
            recipients=3,
            persons=7,
            due_fen=134_600,
            paid_fen=40_000,
        )
    run = CheckRun.objects.create(month="2020-04", trigger="command", started_at=timezone.now())
    Finding.objects.create(
        key="k1",
        check_code="after_death",
        month="2020-04",
        region=regions.a_v,
        district="500101",
        amount_fen=50_000,
        first_run=run,
        last_run=run,
        found_at=timezone.now(),
    )
    Case.objects.create(
        tracking_number="LATE1",
        case_type="dibao",
        channel="walk_in",
        state="accepted",
        region=regions.a_v,
        summary="—",
        applicant_name="赵六",
        filed_at=timezone.now(),
        due_on=D(2020, 1, 1),
    )
    client.force_login(supervisors.a)
    response = client.get(URL)
    assert response.status_code == 200
    report = response.context["report"]
    assert report.district.code == "500101" and report.months[-1] == "2020-04" and len(report.months) == 12
    assert report.month_totals["2020-04"] == {"due_fen": 134_600, "paid_fen": 40_000}
    assert report.findings[0]["n"] == 1 and report.findings_open == 1
    assert report.overdue_count == 1
    page = response.content.decode()
    assert 'data-month="2020-04"' in page and "1,346.00" in page and "赵*" in page and "赵六" not in page
