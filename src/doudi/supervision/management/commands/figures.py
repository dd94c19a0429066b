"""`doudi figures [--month YYYY-MM] [--all]`: refresh supervision's aggregate tables (监管统计) — the
months whose payroll runs or bank returns are newer than their figures (or one month, or every month),
and the care contacts overdue today. Run after a payroll or a bank return, or nightly."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from doudi.policy.periods import Period
from doudi.supervision import figures


class Command(BaseCommand):
    help = "Refresh the supervision figures (dashboards, inspection, funds, annual report)."

    def add_arguments(self, parser):
        parser.add_argument("--month", default="", help="only this month (YYYY-MM)")
        parser.add_argument("--all", action="store_true", help="every month, even those up to date")

    def handle(self, *args, month: str, all: bool, **options):
        if month:
            try:
                period = Period.parse(month)
            except ValueError:
                raise CommandError("--month: YYYY-MM") from None
            done = [figures.refresh_month(period)]
        else:
            done = figures.refresh_all(only_stale=not all)
        for r in done:
            self.stdout.write(f"{r.month}\t{r.seconds:.2f} s")
