"""`doudi restore ARCHIVE [--force]`: put a `doudi backup` archive in place — database, uploaded files,
data files, SECRET_KEY and audit key — after checking every member against the manifest; then verify the
restored audit log."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from doudi.audit.services import verify_chain
from doudi.core.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a doudi backup archive. Refuses a site that already holds data unless --force; the whole "
        "archive is checked against its manifest first."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path)
        parser.add_argument("--force", action="store_true", help="replace a site that already holds data")

    def handle(self, *args, archive: Path, force: bool, **options):
        try:
            restored = restore(archive, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        counts = ", ".join(f"{n} {name} file(s)" for name, n in restored.files.items())
        self.stdout.write(f"restored the backup of {restored.created}: database, {counts}, keys")
        for note in restored.notes:
            self.stderr.write(f"NOTE: {note}")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            self.stdout.write(
                "the archive predates this version: run `doudi migrate`, then `doudi audit verify`"
            )
            return
        result = verify_chain()
        if not result.ok:
            for problem in result.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"restored, but the audit log does not verify ({len(result.problems)} problem(s))"
            )
        self.stdout.write(f"audit log intact: {result.checked} entries verified")
        self.stdout.write("restart the service so it reads the restored SECRET_KEY")
