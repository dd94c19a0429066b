"""`doudi backup [--out DIR]`: a consistent snapshot of the database while the service runs.

SQLite: the online backup API (readers and the writer keep working). PostgreSQL: pg_dump in custom
format, restorable with pg_restore. The file name carries the UTC time; nothing is overwritten.
"""

import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Write a consistent backup of the database to --out (default var/backups)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(settings.VAR_DIR / "backups"))

    def handle(self, *args, out: str, **options):
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        db = settings.DATABASES["default"]
        if connection.vendor == "sqlite":
            target = out_dir / f"doudi-{stamp}.sqlite3"
            source = sqlite3.connect(db["NAME"])
            try:
                with sqlite3.connect(target) as dest:
                    source.backup(dest)
            finally:
                source.close()
        elif connection.vendor == "postgresql":
            if shutil.which("pg_dump") is None:
                raise CommandError("pg_dump is not installed (Debian package postgresql-client)")
            target = out_dir / f"doudi-{stamp}.pgdump"
            cmd = [
                "pg_dump",
                "--format=custom",
                f"--file={target}",
                "--no-owner",
                f"--host={db.get('HOST') or 'localhost'}",
                f"--port={db.get('PORT') or 5432}",
                f"--username={db.get('USER') or 'postgres'}",
                db["NAME"],
            ]
            env = {"PGPASSWORD": db.get("PASSWORD") or ""}
            result = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if result.returncode != 0:
                raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        else:
            raise CommandError(f"no backup method for the {connection.vendor} backend")
        self.stdout.write(f"backup written: {target} ({target.stat().st_size:,} bytes)")
