"""`doudi backup [--out DIR]`: everything a restored site needs, in one archive, while the service runs
(see doudi.core.backup for what it holds). The archive holds the site's secrets: it is written with mode
0600; keep it like the keys themselves."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from doudi.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write a backup archive (database, uploaded files, data files, SECRET_KEY, audit key, manifest) to "
        "--out (default var/backups). The archive holds secrets."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, default=Path(settings.VAR_DIR) / "backups")

    def handle(self, *args, out: Path, **options):
        try:
            path, manifest = create_backup(out)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"backup written: {path} ({path.stat().st_size:,} bytes, {len(manifest['members'])} members)\n"
            "WARNING: the archive holds the SECRET_KEY and the audit key — store it where only the "
            "operators can read it."
        )
