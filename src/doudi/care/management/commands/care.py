"""doudi care …: the care app's daily jobs.

doudi care missing-reports [--date YYYY-MM-DD] [--region CODE]
    the active institutions without a daily report (机构日报) for the day, by district
"""

from __future__ import annotations

import datetime
from itertools import groupby

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.regions.models import Region


def _day(text: str | None) -> datetime.date:
    if not text:
        return timezone.localdate()
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("日期格式应为 YYYY-MM-DD：%(t)s") % {"t": text}) from None


def _region(code: str | None) -> Region | None:
    if not code:
        return None
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise CommandError(_("未找到区划代码 %(c)s") % {"c": code})
    return region


class Command(BaseCommand):
    help = "The care app's daily jobs: institutions missing today's report, overdue contacts."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        m = sub.add_parser("missing-reports", help="institutions without a daily report for the day")
        m.add_argument("--date", help="YYYY-MM-DD (default: today)")
        m.add_argument("--region", help="a region code: only institutions under it")

    def handle(self, *args, action: str, **o):
        if action == "missing-reports":
            self._missing_reports(_day(o.get("date")), _region(o.get("region")))

    def _missing_reports(self, day: datetime.date, region: Region | None) -> None:
        from doudi.care.selectors import district_of, missing_reports

        rows = list(missing_reports(day, region=region))
        self.stdout.write(_("%(day)s 未报送日报的机构：%(n)d 家") % {"day": day, "n": len(rows)})
        for district, group in groupby(rows, key=lambda i: district_of(i.region)):
            items = list(group)
            self.stdout.write(f"{getattr(district, 'name', '')}（{len(items)}）")
            for i in items:
                self.stdout.write(f"  {i.region.name}  {i.name}  {i.contact_name}")
