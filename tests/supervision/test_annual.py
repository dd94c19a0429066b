"""年度公告 (条例第30条): figures from planted data — the year's payments against the monthly reports,
the standards in force at the year's end, complaints and objections and their handling — no personal
data anywhere on the page, scope, bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from doudi.policy.periods import Period
from doudi.regions.models import Region
from doudi.supervision.annual import annual_report
from supervision.conftest import supervisors_for

URL = reverse("supervision:annual")
D = dt.date


def complaint(region, *, case_type="complaint", filed=D(2020, 4, 1), due=D(2020, 4, 20), closed=None):
    from doudi.intake.models import Case

    def at(day):
        return timezone.make_aware(dt.datetime.combine(day, dt.time(9)))

    return Case.objects.create(
        tracking_number=f"C{case_type[:2]}{filed:%m%d}{due:%m%d}{closed or ''}{region.code}"[:32],
        case_type=case_type,
        channel="hotline",
        state="closed" if closed else "accepted",
        region=region,
        summary="举报某村干部优亲厚友",
        applicant_name="钱举报",
        applicant_id_number="500101198001019999",
        filed_at=at(filed),
        due_on=due,
        closed_at=at(closed) if closed else None,
    )


def test_annual_figures_from_planted_data_and_no_personal_data(paid_world, client):
    from doudi.registry.models import Person
    from doudi.reports.selectors import monthly_report

    w = paid_world
    s = supervisors_for(w.regions)
    r = w.regions
    complaint(r.a_v, closed=D(2020, 4, 10))  # on time
    complaint(r.a_v, filed=D(2020, 5, 1), due=D(2020, 5, 15), closed=D(2020, 5, 30))  # late
    complaint(r.a_t, filed=D(2020, 6, 1), due=D(2020, 6, 20))  # open, overdue
    complaint(r.a_v, case_type="objection", filed=D(2020, 7, 1), due=D(2099, 1, 1))  # open, in time
    complaint(r.a_v, filed=D(2019, 12, 1), due=D(2019, 12, 20))  # another year
    complaint(r.b_v, filed=D(2020, 3, 1), due=D(2020, 3, 20))  # another district

    a = Region.objects.get(code="500101")
    report = annual_report(s.city, a, 2020)
    assert report.last_month == "2020-04"
    march, april = (monthly_report(a, Period.parse(m)).total for m in ("2020-03", "2020-04"))
    assert report.due_fen == march.due_fen + april.due_fen
    assert report.paid_fen == march.paid_fen + april.paid_fen
    dibao = next(x for x in report.schemes if x.scheme == "dibao")
    april_dibao = [april.cells["dibao_urban"], april.cells["dibao_rural"]]
    assert dibao.year_end == sum(c.households for c in april_dibao)
    assert dibao.year_end_persons == sum(c.persons for c in april_dibao)
    march_dibao = march.cells["dibao_urban"].households + march.cells["dibao_rural"].households
    assert dibao.person_months == march_dibao + dibao.year_end
    standards = {x.name: x.yuan for x in report.standards}
    assert standards["dibao.standard.urban"] == 546 and standards["dibao.standard.rural"] == 420
    assert standards["tekun.basic_living_ratio"] == 710  # 546 × 1.3 = 709.8, half up
    complaints = {c.case_type: c for c in report.complaints}
    c = complaints["complaint"]
    assert (c.filed, c.closed, c.on_time, c.open, c.open_overdue) == (3, 2, 1, 1, 1)
    o = complaints["objection"]
    assert (o.filed, o.closed, o.open, o.open_overdue) == (1, 0, 1, 0)

    client.force_login(s.a)
    response = client.get(URL, {"year": "2020"})
    assert response.status_code == 200 and response.context["report"].district.code == "500101"
    page = response.content.decode()
    assert "年度社会救助工作情况公告" in page and "data-print" in page
    # No person's name, ID or phone, nor a complaint's text.
    for p in Person.objects.all():
        assert p.name not in page and p.id_number not in page
    assert "钱举报" not in page and "500101198001019999" not in page and "优亲厚友" not in page


def test_scope_and_bad_input(supervisors, regions, client):
    client.force_login(supervisors.a)
    assert client.get(URL, {"district": "500102", "year": "2020"}).status_code == 404
    assert client.get(URL, {"district": "500101001", "year": "2020"}).status_code == 404
    for year in ("20x0", "1999", "２０２０", "\u200b"):
        assert client.get(URL, {"year": year}).status_code in (200, 400)
    assert client.get(URL, {"year": "20x0"}).status_code == 400
    page = client.get(URL, {"year": "2020"})
    assert page.status_code == 200 and page.context["report"].schemes == []
    client.force_login(supervisors.city)
    assert client.get(URL).context["report"].district.code == "500101"  # the first district
    client.force_login(supervisors.township)
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("code", ["' OR 1=1", "9" * 100, "\x00500199"])
def test_hostile_district_is_404(supervisors, client, code):
    client.force_login(supervisors.city)
    assert client.get(URL, {"district": code}).status_code == 404


def whistle_report(region, n, *, received, due, state="received", concluded=None, name="孙实名"):
    from doudi.supervision.models import WhistleReport

    def at(day):
        return timezone.make_aware(dt.datetime.combine(day, dt.time(9)))

    return WhistleReport.objects.create(
        tracking_number=f"JB{n:012d}",
        submission=f"annual-test-{n}",
        fingerprint=f"{n:064d}",
        region=region,
        kind="favouritism",
        about="某村主任",
        body="村主任把低保给了亲戚",
        anonymous=False,
        reporter_name=name,
        reporter_phone="13900001111",
        reporter_id_number="500101198001011234",
        state=state,
        outcome="substantiated" if state == "concluded" else "",
        received_at=at(received),
        due_on=due,
        concluded_at=at(concluded) if concluded else None,
    )


def test_whistle_reports_of_the_district_and_year_by_state_and_time_limit_without_identities(
    paid_world, client
):
    """条例第30条 with 第34条: the year's whistle-blowers' reports about the district are among the
    complaints — received, concluded, concluded in time, open, open past the limit, and by state — and the
    page names neither the reporter nor the reported."""
    s = supervisors_for(paid_world.regions)
    r = paid_world.regions
    a = Region.objects.get(code="500101")
    whistle_report(
        a, 1, received=D(2020, 4, 1), due=D(2020, 4, 20), state="concluded", concluded=D(2020, 4, 10)
    )
    whistle_report(
        a, 2, received=D(2020, 5, 1), due=D(2020, 5, 15), state="concluded", concluded=D(2020, 5, 30)
    )
    whistle_report(a, 3, received=D(2020, 6, 1), due=D(2020, 6, 20), state="assigned")  # open, overdue
    whistle_report(a, 4, received=D(2020, 12, 20), due=D(2099, 1, 12))  # open, in time
    whistle_report(a, 5, received=D(2019, 12, 1), due=D(2019, 12, 20))  # another year
    whistle_report(r.b, 6, received=D(2020, 3, 1), due=D(2020, 3, 20))  # another district

    report = annual_report(s.city, a, 2020, today=D(2021, 1, 5))
    w = next(c for c in report.complaints if c.case_type == "whistle")
    assert (w.filed, w.closed, w.on_time, w.open, w.open_overdue) == (4, 2, 1, 2, 1)
    assert {state: n for state, _label, n in report.whistle_by_state} == {
        "received": 1,
        "assigned": 1,
        "concluded": 2,
    }
    # The other district's supervisor counts their own report only; a district supervisor of 500101 the same.
    other = annual_report(s.b, Region.objects.get(code=r.b.code), 2020, today=D(2021, 1, 5))
    assert next(c for c in other.complaints if c.case_type == "whistle").filed == 1
    assert next(c for c in annual_report(s.a, a, 2020).complaints if c.case_type == "whistle").filed == 4

    client.force_login(s.a)
    page = client.get(URL, {"year": "2020"}).content.decode()
    assert 'data-type="whistle"' in page and 'data-state="concluded"' in page
    for secret in ("孙实名", "13900001111", "500101198001011234", "某村主任", "村主任把低保"):
        assert secret not in page
