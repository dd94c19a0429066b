"""doudi holidays …: the years the working-day time limits can be computed in (节假日安排).

doudi holidays list
    the years covered: the installed calendar's and those the bureau loaded
doudi holidays load FILE --year 2027 --source "国办发明电〔2026〕N号" --user USERNAME
    load (or replace) a year's holidays and adjusted workdays; see intake/holidays.py for the format
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from doudi.intake import holidays, sla
from doudi.intake.models import HolidayYear


class Command(BaseCommand):
    help = "List or load the years the working-day time limits can be computed in."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        sub.add_parser("list")
        load = sub.add_parser("load")
        load.add_argument("file")
        load.add_argument("--year", type=int, required=True)
        load.add_argument("--source", required=True)
        load.add_argument("--user", required=True)

    def handle(self, *args, what, **options):
        if what == "list":
            self.stdout.write(f"{sla.FIRST_YEAR}–{sla.LAST_YEAR}  chinesecalendar")
            for year in HolidayYear.objects.all():
                off = year.days.filter(workday=False).count()
                work = year.days.filter(workday=True).count()
                self.stdout.write(
                    f"{year.year}  {year.source}  休 {off} 天, 班 {work} 天  {year.sha256[:12]}"
                )
            return
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"{options['user']}: no such user")
        try:
            data = Path(options["file"]).read_bytes()
            calendar = holidays.load_year(year=options["year"], data=data, source=options["source"], by=user)
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            lines = [f"{field}: {m}" for field, msgs in exc.message_dict.items() for m in msgs]
            raise CommandError("\n".join(lines)) from exc
        self.stdout.write(f"{calendar.year}: {calendar.days.count()} days loaded")
