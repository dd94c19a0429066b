"""`doudi audit verify [--checkpoints PATH …]`: recompute the keyed hash chain, check the database guards and
compare with the signed checkpoints; `doudi audit checkpoint [--out DIR]`: verify, then sign the chain's tip
into a new checkpoint file outside the database; `doudi audit chain`: append the staff reads still pending
(audit/pending.py) to the chain — the web server does it after each response, cron may do it every minute;
`doudi audit partitions`: on PostgreSQL, create the month partitions of the log for this month and the next
ones (audit/partitions.py; monthly from cron)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from doudi.audit.pending import chain_pending
from doudi.audit.services import VerifyResult, checkpoint, verify_chain


class Command(BaseCommand):
    help = (
        "Audit log tools. verify: recompute the keyed hash chain, check the database guards and compare with "
        "the checkpoints (exit 1 when anything is wrong). checkpoint: verify, then write a signed checkpoint "
        "of the chain's tip to --out (default DOUDI_AUDIT_CHECKPOINT_DIR). chain: append the staff reads still "
        "pending to the chain. partitions: create the log's month partitions ahead (PostgreSQL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "checkpoint", "chain", "partitions"])
        parser.add_argument(
            "--checkpoints",
            action="append",
            type=Path,
            metavar="PATH",
            help="verify: a checkpoint file or a directory of them (repeatable; default DOUDI_AUDIT_CHECKPOINT_DIR)",
        )
        parser.add_argument("--out", type=Path, help="checkpoint: the directory to write to")

    def handle(self, *args, action: str, checkpoints: list[Path] | None, out: Path | None, **options):
        if action == "chain":
            self.stdout.write(f"{chain_pending()} pending read(s) appended to the chain")
            return
        if action == "partitions":
            self._partitions()
            return
        if action == "checkpoint":
            result, path = checkpoint(out)
            self._fail_if_broken(result)
            self.stdout.write(f"checkpoint written: {path} ({result.checked} entries)")
            return
        result = verify_chain(checkpoints)
        self._fail_if_broken(result)
        self.stdout.write(
            f"audit log intact: {result.checked} entries verified, {result.checkpoints} checkpoint(s) agree"
        )

    def _partitions(self) -> None:
        from doudi.audit import partitions

        if connection.vendor != "postgresql":
            self.stdout.write("the audit log is one plain table here (partitions are PostgreSQL's)")
            return
        with transaction.atomic(), connection.cursor() as cur:
            created = partitions.ensure_months(cur)
        self.stdout.write(
            f"audit partitions created: {', '.join(created)}" if created else "audit partitions: none missing"
        )

    def _fail_if_broken(self, result: VerifyResult) -> None:
        if result.ok:
            return
        for problem in result.problems:
            self.stderr.write(problem)
        raise CommandError(
            f"audit log BROKEN: {len(result.problems)} problem(s) in {result.checked} entries", returncode=1
        )
