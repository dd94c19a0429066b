"""节假日安排: a year beyond the installed calendar, loaded from the State Council's notice, makes its
working-day time limits computable (intake/holidays.py, intake/sla.py)."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from doudi.audit.models import AuditEntry
from doudi.intake import holidays, sla
from doudi.intake.models import HolidayDay, HolidayYear

D = datetime.date
# The first year the package does not know: the tests stay true when a newer package is installed.
YEAR = sla.LAST_YEAR + 1


def _weekday_on_or_after(day: D, weekday: int) -> D:
    return day + datetime.timedelta(days=(weekday - day.weekday()) % 7)


NEW_YEAR_OFF = _weekday_on_or_after(D(YEAR, 1, 1), 0)  # a Monday off
SPRING_OFF = _weekday_on_or_after(D(YEAR, 2, 10), 2)  # a Wednesday off
SPRING_WORK = _weekday_on_or_after(D(YEAR, 2, 10), 6)  # a Sunday on (调休上班)


def notice(*rows: str, header: str = "日期,安排,节日") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


GOOD = notice(f"{NEW_YEAR_OFF},休,元旦", f"{SPRING_OFF},休,春节", f"{SPRING_WORK},班,春节")


@pytest.fixture(autouse=True)
def _fresh_calendar():
    sla.forget_bureau_calendar()
    yield
    sla.forget_bureau_calendar()


@pytest.fixture
def admin_user(regions, make_user):
    return make_user("hol_admin", regions.city, role="municipal_admin")


def test_a_year_beyond_the_package_is_unavailable_until_loaded(db, admin_user):
    with pytest.raises(sla.SlaUnavailable):
        sla.is_workday(D(YEAR, 3, 3))
    holidays.load_year(year=YEAR, data=GOOD, source="国办发明电〔测试〕1号", by=admin_user)
    assert not sla.is_workday(NEW_YEAR_OFF) and not sla.is_workday(SPRING_OFF)
    assert sla.is_workday(SPRING_WORK)  # a Sunday made a workday
    saturday = _weekday_on_or_after(D(YEAR, 3, 1), 5)
    assert not sla.is_workday(saturday) and not sla.is_workday(saturday + datetime.timedelta(days=1))
    assert sla.is_workday(saturday + datetime.timedelta(days=2))  # an unlisted Monday
    # A limit running from the package's last year into the loaded one is computed across the seam.
    assert sla.add_working_days(D(sla.LAST_YEAR, 12, 28), 10).year == YEAR
    # The year after is still unknown: refused, not guessed.
    with pytest.raises(sla.SlaUnavailable):
        sla.is_workday(D(YEAR + 1, 1, 4))


def test_the_whole_file_is_checked_and_nothing_is_written_on_a_problem(db, admin_user):
    bad = notice(
        f"{NEW_YEAR_OFF},休,元旦",
        f"{YEAR}-13-01,休,",  # no such date
        f"{YEAR - 1}-05-01,休,劳动节",  # another year
        f"{SPRING_OFF},班,春节",  # a Wednesday is a workday anyway
        f"{NEW_YEAR_OFF},休,元旦",  # twice
        f"{SPRING_WORK},半天,春节",  # unknown kind
    )
    with pytest.raises(ValidationError) as exc:
        holidays.load_year(year=YEAR, data=bad, source="测试", by=admin_user)
    messages = exc.value.message_dict["file"]
    for line in (3, 4, 5, 6, 7):
        assert any(f"第 {line} 行" in m for m in messages), (line, messages)
    assert not HolidayYear.objects.exists() and not HolidayDay.objects.exists()


@pytest.mark.parametrize(
    "data, year, field",
    [
        (GOOD, sla.LAST_YEAR, "year"),  # the package covers it
        (GOOD, 1999, "year"),
        (b"", YEAR, "file"),
        (notice(f"{SPRING_WORK},班,春节"), YEAR, "file"),  # no day off: not a holiday notice
        (notice(f"{NEW_YEAR_OFF},休", header="day,when"), YEAR, "file"),  # no 安排 column
        (b"PK\x03\x04not a zip", YEAR, "file"),
    ],
)
def test_refusals_name_the_field(db, admin_user, data, year, field):
    with pytest.raises(ValidationError) as exc:
        holidays.load_year(year=year, data=data, source="测试", by=admin_user)
    assert field in exc.value.message_dict
    assert not HolidayYear.objects.exists()


def test_invisible_characters_are_read_through_and_the_source_is_required(db, admin_user):
    data = notice(f"{NEW_YEAR_OFF},休\u200b,元旦\u202e", header="\ufeff日期\u200b,安排,节日")
    with pytest.raises(ValidationError) as exc:
        holidays.load_year(year=YEAR, data=data, source="\u200b ", by=admin_user)
    assert "source" in exc.value.message_dict
    holidays.load_year(year=YEAR, data=data, source="测试", by=admin_user)
    assert HolidayDay.objects.get().name == "元旦"


def test_only_the_municipal_admin_loads(db, regions, make_user):
    officer = make_user("hol_officer", regions.a, role="district_officer")
    with pytest.raises(PermissionDenied):
        holidays.load_year(year=YEAR, data=GOOD, source="测试", by=officer)


def test_loading_again_replaces_the_year_and_both_are_audited(db, admin_user):
    holidays.load_year(year=YEAR, data=GOOD, source="第一版", by=admin_user)
    corrected = notice(f"{NEW_YEAR_OFF},休,元旦")
    holidays.load_year(year=YEAR, data=corrected, source="更正版", by=admin_user)
    assert list(HolidayDay.objects.values_list("day", flat=True)) == [NEW_YEAR_OFF]
    assert sla.is_workday(SPRING_OFF)  # no longer a holiday: the change is seen at once
    entries = AuditEntry.objects.filter(object_type="intake.holidayyear").order_by("seq")
    assert [e.action for e in entries] == ["create", "update"]
    assert str(SPRING_OFF) in str(entries[1].before) and str(SPRING_OFF) not in str(entries[1].after)


def test_cases_without_a_due_date_get_one_when_their_year_is_loaded(db, admin_user, open_case, frozen_today):
    frozen_today(_weekday_on_or_after(D(YEAR, 3, 1), 1))
    case = open_case("temporary")
    assert case.due_on is None and str(YEAR) in case.sla_error
    holidays.load_year(year=YEAR, data=GOOD, source="测试", by=admin_user)
    case.refresh_from_db()
    assert case.sla_error == "" and case.due_on is not None and case.due_on.year == YEAR


def test_console_page_loads_and_refuses(db, client, admin_user, regions, make_user):
    url = reverse("intake:holidays")
    client.force_login(admin_user)
    page = client.get(url)
    assert page.status_code == 200
    if YEAR == datetime.date.today().year + 1:  # next year is not loaded yet: the page says so
        assert f"尚未录入 {YEAR} 年节假日安排".encode() in page.content

    bad = client.post(url, {"year": YEAR, "source": "测试", "file": io.BytesIO(notice(f"{SPRING_OFF},班,"))})
    assert bad.status_code == 400 and "第 2 行".encode() in bad.content
    upload = io.BytesIO(GOOD)
    upload.name = "2027.csv"
    ok = client.post(url, {"year": YEAR, "source": "国办发明电", "file": upload})
    assert ok.status_code == 302 and HolidayYear.objects.filter(year=YEAR).exists()
    assert "国办发明电".encode() in client.get(url).content

    officer = make_user("hol_viewer", regions.a, role="district_officer")
    client.force_login(officer)
    assert client.get(url).status_code == 200
    assert client.post(url, {"year": YEAR, "source": "x", "file": io.BytesIO(GOOD)}).status_code == 403


def test_oversize_upload_is_refused(db, client, admin_user):
    client.force_login(admin_user)
    upload = io.BytesIO(GOOD + b"#" * (holidays_limit() + 1))
    upload.name = "big.csv"
    answer = client.post(reverse("intake:holidays"), {"year": YEAR, "source": "x", "file": upload})
    assert answer.status_code == 400 and not HolidayYear.objects.exists()


def holidays_limit() -> int:
    from doudi.intake.views import HOLIDAY_FILE_LIMIT

    return HOLIDAY_FILE_LIMIT


def test_command_loads_and_lists(db, admin_user, tmp_path):
    path = tmp_path / "notice.csv"
    path.write_bytes(GOOD)
    out = io.StringIO()
    call_command(
        "holidays",
        "load",
        str(path),
        "--year",
        str(YEAR),
        "--source",
        "测试",
        "--user",
        "hol_admin",
        stdout=out,
    )
    assert "3 days" in out.getvalue()
    out = io.StringIO()
    call_command("holidays", "list", stdout=out)
    assert f"{YEAR}  测试" in out.getvalue() and f"{sla.FIRST_YEAR}–{sla.LAST_YEAR}" in out.getvalue()
