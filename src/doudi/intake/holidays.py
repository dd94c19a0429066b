"""节假日安排: loading a year's public holidays and adjusted workdays from the State Council's notice.

The calendar package (chinesecalendar) covers the years it was released for; the notice for the next
year comes out each November. Until a year is covered no working-day time limit can be computed in it
(intake/sla.py refuses rather than guesses), so the municipal administrator loads the notice:

    日期,安排,节日
    2027-01-01,休,元旦
    2027-02-07,班,春节

`安排` is 休 (放假, a day off) or 班 (上班, an adjusted workday on a weekend). Days not listed follow the
week. The whole file is checked before anything is written; loading a year again replaces it (a
corrected notice), audited with before and after. Years the package covers are refused: the package
is the reference for them.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.excel import SpreadsheetRefused, csv_rows, xlsx_rows
from doudi.core.text import clean_text
from doudi.intake import sla
from doudi.intake.models import HolidayDay, HolidayYear

OFF = frozenset({"休", "放假", "休息", "off", "holiday"})
ON = frozenset({"班", "上班", "调休上班", "work", "workday"})
HEADERS = {"日期": "day", "date": "day", "安排": "kind", "kind": "kind", "节日": "name", "name": "name"}
MAX_DAYS = 80  # a year's notice lists about 30; more is not a holiday notice
MAX_NAME = 40
MAX_SOURCE = 200


@dataclass(frozen=True)
class ListedDay:
    day: datetime.date
    workday: bool
    name: str


def can_load(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(Role.MUNICIPAL_ADMIN)


def _rows(data: bytes) -> list[list[Any]]:
    try:
        return list(xlsx_rows(data)) if data[:2] == b"PK" else csv_rows(data)
    except SpreadsheetRefused as exc:
        raise ValidationError({"file": str(exc)}) from exc


def parse_year(data: bytes, year: int) -> list[ListedDay]:
    """The listed days of `year` from a CSV or XLSX file; ValidationError names every bad row."""
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationError({"year": _("请填写 2000–2100 之间的年份。")})
    if sla.package_covers(year):
        raise ValidationError(
            {
                "year": _("%(year)s 年已由系统内置的节假日数据覆盖（%(first)s–%(last)s 年），无需录入。")
                % {"year": year, "first": sla.FIRST_YEAR, "last": sla.LAST_YEAR}
            }
        )
    rows = [r for r in _rows(data) if any(str(c or "").strip() for c in r)]
    if not rows:
        raise ValidationError({"file": _("文件是空的。")})
    header = [HEADERS.get(clean_text(str(c or "")).strip().lower(), "") for c in rows[0]]
    if "day" not in header or "kind" not in header:
        raise ValidationError({"file": _("第 1 行应为表头，至少包含“日期”和“安排”两列。")})
    col = {name: header.index(name) for name in ("day", "kind", "name") if name in header}
    problems: list[str] = []
    days: dict[datetime.date, ListedDay] = {}
    for line, row in enumerate(rows[1:], start=2):

        def cell(name: str, row: list[Any] = row) -> str:
            i = col.get(name)
            value = row[i] if i is not None and i < len(row) else ""
            if isinstance(value, datetime.datetime):
                value = value.date()
            return (
                value.isoformat()
                if isinstance(value, datetime.date)
                else clean_text(str(value or "")).strip()
            )

        try:
            day = datetime.date.fromisoformat(cell("day"))
        except ValueError:
            problems.append(
                _("第 %(line)s 行：日期“%(v)s”应写成 YYYY-MM-DD。") % {"line": line, "v": cell("day")[:20]}
            )
            continue
        kind, name = cell("kind"), cell("name")
        if day.year != year:
            problems.append(
                _("第 %(line)s 行：%(day)s 不在 %(year)s 年。") % {"line": line, "day": day, "year": year}
            )
        elif kind not in OFF | ON:
            problems.append(_("第 %(line)s 行：安排应为“休”或“班”。") % {"line": line})
        elif kind in ON and day.weekday() < 5:
            problems.append(
                _("第 %(line)s 行：%(day)s 是周一至周五，本来就上班，不是调休上班日。")
                % {"line": line, "day": day}
            )
        elif day in days:
            problems.append(_("第 %(line)s 行：%(day)s 重复。") % {"line": line, "day": day})
        elif len(name) > MAX_NAME:
            problems.append(_("第 %(line)s 行：节日名称超过 %(n)s 个字。") % {"line": line, "n": MAX_NAME})
        else:
            days[day] = ListedDay(day, kind in ON, name)
    if not problems and not any(not d.workday for d in days.values()):
        problems.append(_("没有列出任何放假日：这不是一份节假日安排。"))
    if len(days) > MAX_DAYS:
        problems.append(_("列出的日期超过 %(n)s 天：这不是一份节假日安排。") % {"n": MAX_DAYS})
    if problems:
        raise ValidationError({"file": problems})
    return sorted(days.values(), key=lambda d: d.day)


@transaction.atomic
def load_year(*, year: int, data: bytes, source: Any, by: Any) -> HolidayYear:
    """录入节假日安排: replace `year`'s listed days with the file's, then recompute the time limits that
    could not be computed for want of the year."""
    if not can_load(by):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied(_("只有市民政管理员可以录入节假日安排。"))
    days = parse_year(data, year)
    source = clean_text(str(source or "")).strip()
    if not source:
        raise ValidationError({"source": _("请填写依据（国务院办公厅通知的文号或标题）。")})
    if len(source) > MAX_SOURCE:
        raise ValidationError({"source": _("依据不超过 %(n)s 个字。") % {"n": MAX_SOURCE}})
    existing = HolidayYear.objects.select_for_update().filter(year=year).first()
    before = _summary(existing) if existing else None
    if existing:
        existing.days.all().delete()
        calendar = existing
        calendar.source, calendar.loaded_by, calendar.loaded_at = source, by, timezone.now()
    else:
        calendar = HolidayYear(year=year, source=source, loaded_by=by, loaded_at=timezone.now())
    calendar.sha256 = hashlib.sha256(data).hexdigest()
    calendar.save()
    HolidayDay.objects.bulk_create(
        HolidayDay(calendar=calendar, day=d.day, workday=d.workday, name=d.name) for d in days
    )
    record(
        actor=by,
        action=AuditAction.UPDATE if existing else AuditAction.CREATE,
        obj=calendar,
        before=before,
        after=_summary(calendar),
    )
    sla.forget_bureau_calendar()
    transaction.on_commit(sla.forget_bureau_calendar)

    from doudi.intake.services import refresh_uncomputed_cases

    refresh_uncomputed_cases()
    return calendar


def _summary(calendar: HolidayYear) -> dict[str, Any]:
    days = list(calendar.days.order_by("day").values_list("day", "workday"))
    return {
        "year": calendar.year,
        "source": calendar.source,
        "sha256": calendar.sha256,
        "off": [d.isoformat() for d, w in days if not w],
        "work": [d.isoformat() for d, w in days if w],
    }
