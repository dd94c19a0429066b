"""doudi supervise YYYY-MM [--check NAME …]: run the supervision checks over a month's payroll (资金监管),
file what they find in the supervisors' queue (a finding already filed is not filed twice) and print
each check's figures."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from doudi.supervision.checks import CHECKS


class Command(BaseCommand):
    help = "Run the supervision checks over a month's payroll and file the findings."

    def add_arguments(self, parser):
        parser.add_argument("month", help="YYYY-MM")
        parser.add_argument(
            "--check", action="append", choices=sorted(CHECKS), help="only this check (repeatable)"
        )

    def handle(self, *args, month: str, check: list[str] | None, **options):
        from doudi.supervision import services

        try:
            month = services.raise_if_invalid_month(month)
        except ValidationError as exc:
            raise CommandError("; ".join(m for ms in exc.message_dict.values() for m in ms)) from exc

        def report(name: str, figures: dict) -> None:
            self.stdout.write(
                f"{name:<20} {figures['found']:>9,} found {figures['new']:>9,} new "
                f"{figures['seconds']:>8.3f} s (+{figures['file_seconds']:.3f} s filing)"
            )

        run = services.run_checks(month, trigger="command", only=check, progress=report)
        total = sum(r["seconds"] + r["file_seconds"] for r in run.results.values())
        self.stdout.write(
            f"{'total':<20} {sum(r['found'] for r in run.results.values()):>9,} found "
            f"{sum(r['new'] for r in run.results.values()):>9,} new {total:>8.3f} s"
        )
