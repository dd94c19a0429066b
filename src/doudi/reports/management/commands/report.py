"""doudi report monthly --month YYYY-MM [--district CODE] [--xlsx FILE]: the monthly statistical report
(统计月报) of the city, or of one district (township), printed as the console page shows it; with
--xlsx also written as the Excel report."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from doudi.core.templatetags.doudi import yuan as _yuan
from doudi.policy.periods import Period


def _n(value: int | None) -> str:
    return "—" if value is None else str(value)


class Command(BaseCommand):
    help = "Statistical reports (统计报表): the monthly report per district and scheme."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        m = sub.add_parser("monthly", help="the monthly report (社会救助资金发放月报)")
        m.add_argument("--month", required=True, help="YYYY-MM")
        m.add_argument(
            "--district",
            "--region",
            dest="region",
            default="",
            help="a district's (or township's) code; default the whole city",
        )
        m.add_argument("--xlsx", default="", help="also write the report as an .xlsx file")

    def handle(self, *args, action: str, **o):
        from doudi.core.replica import reporting
        from doudi.regions.models import Region
        from doudi.reports.excel import empty_message, report_xlsx
        from doudi.reports.selectors import monthly_report

        try:
            month = Period.parse(o["month"].strip())
        except ValueError as exc:
            raise CommandError(f"--month: {o['month']!r} is not a month YYYY-MM") from exc
        code = o["region"].strip()
        region = (
            Region.objects.filter(code=code).first()
            if code
            else Region.objects.filter(parent__isnull=True).order_by("code").first()
        )
        if region is None:
            raise CommandError(f"--district: no region {code!r}" if code else "no region tree loaded")
        with reporting():  # on the replica when there is one
            report = monthly_report(region, month)
        self._print(report)
        if not report.has_payroll:
            self.stderr.write(empty_message(report))
        if o["xlsx"]:
            path = Path(o["xlsx"])
            path.write_bytes(report_xlsx(report))
            self.stdout.write(f"written {path}")

    def _print(self, report) -> None:
        w = self.stdout.write
        w(
            f"{report.region.name} ({report.region.code}) {report.month} — compared with {report.previous_month}"
        )
        for row in [*report.rows, report.total]:
            name = "合计" if row is report.total else f"{row.name} ({row.code})"
            w(
                f"{name}: due {_yuan(row.amounts['due'])}  paid {_yuan(row.amounts['paid'])}  "
                f"issued {_yuan(row.amounts['issued'])}  pending {_yuan(row.amounts['pending'])}  "
                f"held {_yuan(row.amounts['held'])}  failed {_yuan(row.amounts['failed'])}  "
                f"new {row.new}  stopped {row.stopped}  registered poor {row.covered}/{row.poor}"
                + (f" ({row.coverage}%)" if row.coverage is not None else "")
            )
            for column in report.columns:
                cell = row.cells[column.key]
                if not (cell.households or cell.due_fen or cell.stopped):
                    continue
                w(
                    f"    {column.label}: households {_n(cell.households)}  persons {_n(cell.persons)}  "
                    f"due {_yuan(cell.due_fen)}  paid {_yuan(cell.paid_fen)}  "
                    f"new {_n(cell.new)}  stopped {_n(cell.stopped)}"
                )
