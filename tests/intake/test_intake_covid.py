"""COVID events: by hand or from a health-department list validated whole; Person.covid_* kept in sync."""

import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import Workbook

from doudi.intake import services
from doudi.intake.models import CovidEvent, CovidImport
from doudi.intake.signals import covid_event_recorded

D = datetime.date


def _csv(rows, header=("身份证号", "姓名", "事件", "日期", "备注")):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8-sig")


def _xlsx(rows, header=("身份证号", "姓名", "事件", "日期")):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(list(r))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_manual_events_keep_person_fields_in_sync(officers, regions, make_person, frozen_today):
    frozen_today(D(2020, 4, 1))
    p = make_person(regions.a_v)
    received = []
    covid_event_recorded.connect(lambda **kw: received.append(kw["event"].kind), weak=False, dispatch_uid="t")
    try:
        services.record_covid_event(person=p, kind="confirmed", date=D(2020, 2, 10), by=officers.a_village)
        services.record_covid_event(person=p, kind="discharged", date=D(2020, 3, 11), by=officers.a_township)
    finally:
        covid_event_recorded.disconnect(dispatch_uid="t")
    p.refresh_from_db()
    assert (p.covid_confirmed_on, p.covid_discharged_on, p.covid_died_on) == (
        D(2020, 2, 10),
        D(2020, 3, 11),
        None,
    )
    assert received == ["confirmed", "discharged"]
    # Voiding the discharge puts the person back in hospital for R5.
    event = CovidEvent.objects.get(person=p, kind="discharged")
    services.void_covid_event(event=event, by=officers.a_township, reason="录入错误")
    p.refresh_from_db()
    assert p.covid_discharged_on is None and p.covid_confirmed_on == D(2020, 2, 10)


@pytest.mark.parametrize(
    ("kind", "day", "message"),
    [
        ("discharged", D(2020, 3, 1), "没有确诊"),
        ("confirmed", D(2020, 5, 1), "晚于今天"),
        ("confirmed", D(2019, 6, 1), "早于2019年12月"),
    ],
)
def test_manual_event_checks(officers, regions, make_person, frozen_today, kind, day, message):
    frozen_today(D(2020, 4, 1))
    p = make_person(regions.a_v)
    with pytest.raises(ValidationError) as exc:
        services.record_covid_event(person=p, kind=kind, date=day, by=officers.a_township)
    assert message in str(exc.value)


def test_manual_event_scope_and_roles(officers, regions, make_person):
    b_person = make_person(regions.b_v, prefix="500102")
    with pytest.raises(PermissionDenied):
        services.record_covid_event(
            person=b_person, kind="confirmed", date=D(2020, 2, 1), by=officers.a_district
        )
    with pytest.raises(PermissionDenied):
        services.record_covid_event(
            person=b_person, kind="confirmed", date=D(2020, 2, 1), by=officers.supervisor
        )


def test_import_writes_all_rows(officers, regions, make_person, frozen_today):
    frozen_today(D(2020, 4, 1))
    a, b = make_person(regions.a_v, "甲"), make_person(regions.a_v2, "乙")
    content = _xlsx(
        [
            (a.id_number, "甲", "确诊", D(2020, 2, 1)),
            (a.id_number, "甲", "出院", "2020-02-20"),
            (b.id_number, "乙", "确诊", "2020/02/05"),
            (b.id_number, "乙", "死亡", D(2020, 2, 9)),
        ]
    )
    result = services.import_covid_events(by=officers.a_district, filename="名单.xlsx", content=content)
    assert result.ok and (result.rows, result.created, result.skipped) == (4, 4, 0)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.covid_confirmed_on, a.covid_discharged_on) == (D(2020, 2, 1), D(2020, 2, 20))
    assert (b.covid_confirmed_on, b.covid_died_on) == (D(2020, 2, 5), D(2020, 2, 9))
    # Re-importing the same list changes nothing.
    again = services.import_covid_events(by=officers.a_district, filename="名单.xlsx", content=content)
    assert again.ok and (again.created, again.skipped) == (0, 4)
    assert CovidEvent.objects.count() == 4 and CovidImport.objects.count() == 2


def test_import_rejected_whole_on_a_bad_row(officers, regions, make_person, frozen_today):
    frozen_today(D(2020, 4, 1))
    a = make_person(regions.a_v, "甲")
    b_outside = make_person(regions.b_v, "丙", prefix="500102")
    content = _csv(
        [
            (a.id_number, "甲", "确诊", "2020-02-01", ""),  # fine on its own
            (a.id_number, "甲", "出院", "2020-01-20", ""),  # discharged before confirmation
            ("500101198001010000", "丁", "确诊", "2020-02-01", ""),  # bad check digit
            (b_outside.id_number, "丙", "确诊", "2020-02-01", ""),  # outside the importer's district
            (a.id_number, "错名", "死亡", "2020-02-03", ""),  # name does not match
            (a.id_number, "甲", "痊愈了", "2020-13-01", ""),  # bad kind and date
            (a.id_number, "甲", "确诊", "2020-02-01", ""),  # duplicate of line 2
        ]
    )
    result = services.import_covid_events(by=officers.a_district, filename="list.csv", content=content)
    assert not result.ok and result.created == 0
    lines = sorted({e.row for e in result.errors})
    assert lines == [3, 4, 5, 6, 7, 8]
    assert CovidEvent.objects.count() == 0 and CovidImport.objects.count() == 0
    a.refresh_from_db()
    assert a.covid_confirmed_on is None


def test_import_file_level_errors(officers):
    bad_header = _csv([("x", "y")], header=("证件", "姓名"))
    result = services.import_covid_events(by=officers.a_district, filename="a.csv", content=bad_header)
    assert not result.ok and "缺少列" in result.errors[0].message
    result = services.import_covid_events(by=officers.a_district, filename="a.pdf", content=b"%PDF-1.4")
    assert not result.ok and result.errors[0].row == 0
    with pytest.raises(PermissionDenied):
        services.import_covid_events(by=officers.a_village, filename="a.csv", content=bad_header)


def test_import_refuses_hostile_workbooks(officers):
    from hostile_files import far_cell_workbook

    for content, reason in ((far_cell_workbook(), "A1:XFD1048576"), (b"a," * 60_000, "超过 100,000 个字符")):
        name = "events.xlsx" if content.startswith(b"PK") else "events.csv"
        result = services.import_covid_events(by=officers.a_district, filename=name, content=content)
        assert not result.ok and result.errors[0].row == 0 and reason in result.errors[0].message
    assert CovidImport.objects.count() == 0
