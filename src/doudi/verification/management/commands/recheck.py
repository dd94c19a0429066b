"""doudi recheck --month YYYY-MM: the monthly re-check (动态复核) of every recipient household, with progress."""

from django.core.management.base import BaseCommand, CommandError

from doudi.core.errors import Conflict
from doudi.core.progress import TerminalProgress
from doudi.policy.periods import Period
from doudi.verification.models import RunStatus


class Command(BaseCommand):
    help = "Re-check every dibao recipient household against the loaded department extracts for one month."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument(
            "--enqueue", action="store_true", help="queue it for `doudi worker` instead of running here"
        )

    def handle(self, *args, month: str, enqueue: bool, **options):
        from doudi.verification.services import execute_recheck, request_recheck

        try:
            period = Period.parse(month)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if enqueue:
            run = request_recheck(month=period)
            self.stdout.write(f"{run.month}: {run.get_status_display()} (task {run.task_id or '-'})")
            return
        progress = TerminalProgress(self.stdout)
        try:
            run = execute_recheck(period, progress=progress)
        except Conflict as exc:
            raise CommandError(exc.message) from None
        progress.done()
        ran = progress.ran
        if not ran:
            self.stdout.write(
                f"{run.month} was already re-checked on {run.finished_at:%Y-%m-%d %H:%M}: nothing added."
            )
        if run.status != RunStatus.FINISHED:
            raise CommandError(f"{run.month}: {run.status}")
        self.stdout.write(
            f"{run.month}: {run.households} households, {run.persons} persons, "
            f"{run.signal_count} signals, {run.outcome_count} changes, {run.deferred_count} deferred, "
            f"{run.skipped_no_consent} without consent"
        )
