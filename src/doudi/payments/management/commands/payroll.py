"""doudi payroll …: the monthly payroll (发放花名册) from the command line, with progress.

doudi payroll freeze --month YYYY-MM             (alias: prepare) freeze the month's inputs
doudi payroll compute --month YYYY-MM [--round N] [--enqueue] [--engine duckdb|spark]
doudi payroll submit|approve|confirm --month YYYY-MM --district CODE --user USERNAME [--round N] [--note T]
doudi payroll files --month YYYY-MM [--round N] --user USERNAME
doudi payroll import-return --month YYYY-MM [--round N] --bank CODE --user USERNAME FILE
doudi payroll follow-up --month YYYY-MM
doudi payroll arrears --from YYYY-MM --to YYYY-MM [--month YYYY-MM]   补发差额: freeze and compute
doudi payroll status --month YYYY-MM
"""

from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from doudi.core.errors import Conflict
from doudi.core.progress import TerminalProgress
from doudi.policy.periods import Period


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


class Command(BaseCommand):
    help = (
        "The monthly payroll (发放花名册): freeze, compute, approve by tiers, bank files, returns, follow-up."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        def month(p, rounds=True):
            p.add_argument("--month", required=True, help="YYYY-MM")
            if rounds:
                p.add_argument(
                    "--round",
                    type=int,
                    default=None,
                    help="0 = the month's payroll, 1… = follow-ups (default: the latest)",
                )
            return p

        month(
            sub.add_parser(
                "freeze", aliases=["prepare"], help="freeze everything the month's payroll is computed on"
            ),
            rounds=False,
        )
        c = month(
            sub.add_parser(
                "compute", help="compute the payment lines from the frozen snapshot (freezes first if needed)"
            )
        )
        c.add_argument(
            "--enqueue", action="store_true", help="queue it for `doudi worker` instead of running here"
        )
        c.add_argument(
            "--engine",
            choices=("duckdb", "spark"),
            default=None,
            help="batch engine (default: DOUDI_BATCH_ENGINE, else duckdb); docs/scale.md",
        )
        for action in ("submit", "approve", "confirm"):
            p = month(sub.add_parser(action, help=f"{action} one district's batch"))
            p.add_argument("--district", required=True)
            p.add_argument("--user", required=True)
            p.add_argument("--note", default="")
        f = month(sub.add_parser("files", help="write one bank file per bank (every batch confirmed)"))
        f.add_argument("--user", required=True)
        r = month(
            sub.add_parser("import-return", help="import a bank's return file (refused whole on any error)")
        )
        r.add_argument("--bank", required=True)
        r.add_argument("--user", required=True)
        r.add_argument("file")
        month(
            sub.add_parser("follow-up", help="re-issue failed lines whose account was corrected"),
            rounds=False,
        )
        month(sub.add_parser("status", help="the month's runs and their batches"), rounds=False)
        a = sub.add_parser(
            "arrears",
            help="补发差额: pay the difference for months already paid, under the parameters in force now",
        )
        a.add_argument("--from", dest="first", required=True, help="first owed month, YYYY-MM")
        a.add_argument("--to", dest="last", required=True, help="last owed month, YYYY-MM")
        a.add_argument("--month", default=None, help="the month it is paid in (default: this month)")

    def handle(self, *args, action: str, **o):
        try:
            period = Period.parse(o["month"]) if o.get("month") is not None else None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            return getattr(self, "_" + {"prepare": "freeze"}.get(action, action).replace("-", "_"))(period, o)
        except (Conflict, PermissionDenied) as exc:
            raise CommandError(getattr(exc, "message", None) or str(exc)) from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    # ---------------------------------------------------------------------------------------------

    def _run(self, period, o):
        from doudi.payments.models import PayrollRun

        qs = PayrollRun.objects.filter(month=str(period))
        run = (
            qs.filter(round=o["round"]).first()
            if o.get("round") is not None
            else qs.order_by("-round").first()
        )
        if run is None:
            raise CommandError(f"{period}: no payroll run")
        return run

    def _user(self, username):
        from doudi.accounts.models import User

        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"{username}: no such user")
        return user

    def _freeze(self, period, o):
        from doudi.payments.services import freeze_run

        run = freeze_run(month=period)
        self.stdout.write(
            f"{run}: frozen {run.frozen_at:%Y-%m-%d %H:%M:%S}, sha256 {run.snapshot_sha256}, rows {run.snapshot_rows}"
        )

    def _compute(self, period, o):
        from doudi.payments.models import PayrollRun, RunStatus
        from doudi.payments.services import compute_run, freeze_run, request_compute

        if o["enqueue"]:
            run = request_compute(month=period)
            self.stdout.write(f"{run}: {run.get_status_display()} (task {run.task_id or '-'})")
            return
        if o["round"]:
            run = self._run(period, o)
        else:
            run = PayrollRun.objects.filter(month=str(period), round=0).first() or freeze_run(month=period)
            if not run.snapshot_sha256:
                run = freeze_run(month=period)
        progress = TerminalProgress(self.stdout)
        run = compute_run(run, progress=progress, engine=o["engine"])
        progress.done()
        ran = progress.ran
        if not ran:
            self.stdout.write(f"{run} was already computed: nothing added.")
        if run.status != RunStatus.COMPUTED:
            raise CommandError(f"{run}: {run.status}")
        self.stdout.write(
            f"{run}: {run.line_count} lines, {_yuan(run.total_fen)} yuan, {run.held_count} held"
        )

    def _sign(self, action, period, o):
        from doudi.payments.models import PayrollBatch
        from doudi.payments.services import sign_batch

        run = self._run(period, o)
        batch = PayrollBatch.objects.filter(run=run, district_id=o["district"]).first()
        if batch is None:
            raise CommandError(f"{run}: no batch for district {o['district']}")
        batch = sign_batch(batch=batch, action=action, officer=self._user(o["user"]), note=o["note"])
        self.stdout.write(f"{run} {batch.district_id}: {batch.get_status_display()}")

    def _submit(self, period, o):
        self._sign("submit", period, o)

    def _approve(self, period, o):
        self._sign("approve", period, o)

    def _confirm(self, period, o):
        self._sign("confirm", period, o)

    def _files(self, period, o):
        from doudi.payments.services import data_dir, issue_bank_files

        for f in issue_bank_files(run=self._run(period, o), officer=self._user(o["user"])):
            self.stdout.write(
                f"{f.bank.code}: {data_dir() / f.path}  {f.line_count} lines  {_yuan(f.total_fen)} yuan  sha256 {f.sha256}"
            )

    def _import_return(self, period, o):
        from doudi.payments.models import BankFile
        from doudi.payments.services import import_return

        path = Path(o["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        bank_file = BankFile.objects.filter(run=self._run(period, o), bank__code=o["bank"]).first()
        if bank_file is None:
            raise CommandError(f"no bank file of {o['bank']} in that run")
        imported = import_return(
            bank_file=bank_file, content=path.read_bytes(), file_name=path.name, officer=self._user(o["user"])
        )
        if imported.status != "loaded":
            for p in imported.problems[:50]:
                self.stderr.write(f"row {p['row']}: {p['field']}: {p['message']}")
            raise CommandError(
                f"{path.name}: refused, {imported.error_count} problem(s); nothing was settled"
            )
        self.stdout.write(f"{path.name}: {imported.paid_count} paid, {imported.failed_count} failed")

    def _follow_up(self, period, o):
        from doudi.payments.services import create_follow_up

        run = create_follow_up(month=period)
        self.stdout.write(
            f"{run}: frozen {run.snapshot_rows}; compute it with `doudi payroll compute --month {run.month} --round {run.round}`"
        )

    def _status(self, period, o):
        from doudi.payments.models import PayrollRun, PayScheme

        for run in PayrollRun.objects.filter(month=str(period)).order_by("round"):
            kind = f" arrears {run.arrears_from}…{run.arrears_to}" if run.is_arrears else ""
            self.stdout.write(
                f"{run}{kind}: {run.get_status_display()}  {run.line_count} lines  {_yuan(run.total_fen)} yuan  held {run.held_count}"
            )
            for b in run.batches.select_related("district"):
                self.stdout.write(
                    f"  {b.district_id} {b.district.name}: {b.get_status_display()}  {b.line_count} lines  {_yuan(b.total_fen)}"
                )
                for scheme in (s for s in PayScheme.values if s in b.summary):  # each scheme, one-offs too
                    part = b.summary[scheme]
                    self.stdout.write(
                        f"    {scheme} {PayScheme(scheme).label}: {part['count']} lines  "
                        f"{_yuan(part['total_fen'])} yuan  held {part['held']}"
                    )

    def _arrears(self, period, o):
        from doudi.payments.models import ArrearsReduction, PaymentLine, RunStatus
        from doudi.payments.services import compute_run, create_arrears

        try:
            first, last = Period.parse(o["first"]), Period.parse(o["last"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        run = create_arrears(first=first, last=last, month=period)
        self.stdout.write(
            f"{run}: arrears {run.arrears_from}…{run.arrears_to}, frozen, sha256 {run.snapshot_sha256}"
        )
        progress = TerminalProgress(self.stdout)
        run = compute_run(run, progress=progress)
        progress.done()
        if run.status != RunStatus.COMPUTED:
            raise CommandError(f"{run}: {run.status}")
        lines = PaymentLine.objects.filter(run=run)
        for m in sorted(set(lines.values_list("month", flat=True))):
            of_month = lines.filter(month=m)
            self.stdout.write(
                f"  {m}: {of_month.count()} lines, {_yuan(sum(of_month.values_list('amount_fen', flat=True)))} yuan"
            )
        reductions = ArrearsReduction.objects.filter(run=run).count()
        self.stdout.write(
            f"{run}: {run.line_count} lines, {_yuan(run.total_fen)} yuan, {run.held_count} held; "
            f"{reductions} lower amount(s) listed, not clawed back"
        )
