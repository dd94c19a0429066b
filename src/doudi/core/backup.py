"""备份与恢复: one archive holding everything a restored site needs, and its restore.

The archive (`doudi-backup-<UTC time>.tar.gz`, mode 0600) holds:

- `database.sqlite3` (SQLite's online backup API: the service keeps running) or `database.pgdump`
  (`pg_dump --format=custom`);
- `media/…`: the uploaded files (attachments) — taken after the database, so every file a row names is in;
- `data/…`: department extracts and populations under DOUDI_DATA_DIR (the re-check reads the extracts);
- `secrets/secret_key` and `secrets/audit_key`: the SECRET_KEY and the audit chain's key. **The archive is
  secret**: whoever holds it can sign sessions and rewrite the audit chain;
- `manifest.json`: the SHA-256 and size of every other member, the database vendor and the time.

`restore` checks the whole archive against its manifest before touching anything, refuses a site that
already holds data unless forced, and swaps each part into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from django.conf import settings
from django.db import connection

FORMAT = 1
MANIFEST = "manifest.json"
DATABASE_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
SECRET_KEY_MEMBER = "secrets/secret_key"
AUDIT_KEY_MEMBER = "secrets/audit_key"
# The directories of a site, by their name in the archive.
TREES = ("media", "data")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _trees() -> dict[str, Path]:
    return {"media": Path(settings.MEDIA_ROOT), "data": Path(settings.DOUDI_DATA_DIR)}


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


# --- backup -------------------------------------------------------------------------------------------------


def create_backup(out_dir: Path) -> tuple[Path, dict]:
    """Write the archive into `out_dir`; returns its path and manifest. Nothing is overwritten."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    target = out_dir / f"doudi-backup-{stamp:%Y%m%dT%H%M%S%fZ}.tar.gz"
    members: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".backup-") as work:
        work_dir = Path(work)
        fd, partial = tempfile.mkstemp(dir=out_dir, prefix=".doudi-backup-", suffix=".partial")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:

                def add(path: Path, name: str) -> None:
                    with path.open("rb") as f:
                        members[name] = {"sha256": _sha256(f), "size": path.stat().st_size}
                    tar.add(path, arcname=name, recursive=False)

                database = work_dir / DATABASE_MEMBERS.get(connection.vendor, "database")
                _dump_database(database)
                add(database, database.name)
                for name, root in _trees().items():
                    for path in _files(root):
                        add(path, f"{name}/{path.relative_to(root).as_posix()}")
                secrets_dir = work_dir / "secrets"
                secrets_dir.mkdir(mode=0o700)
                for member, value in _secrets().items():
                    path = work_dir / member
                    path.write_text(value + "\n")
                    add(path, member)
                manifest = {
                    "format": FORMAT,
                    "created": stamp.isoformat(),
                    "vendor": connection.vendor,
                    "members": members,
                }
                path = work_dir / MANIFEST
                path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
                tar.add(path, arcname=MANIFEST, recursive=False)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return target, manifest


def _secrets() -> dict[str, str]:
    from doudi.audit.keys import AuditKeyMissing, audit_key

    found = {SECRET_KEY_MEMBER: settings.SECRET_KEY}
    try:
        found[AUDIT_KEY_MEMBER] = audit_key().hex()
    except AuditKeyMissing:
        pass  # no key yet: the log is empty (or the key is lost, which verify reports)
    return found


def _pg_args(program: str) -> tuple[list[str], dict[str, str]]:
    path = shutil.which(program)
    if path is None:
        raise BackupError(f"{program} is not installed (Debian package postgresql-client)")
    db = settings.DATABASES["default"]
    args = [
        path,
        "--no-owner",
        f"--host={db.get('HOST') or 'localhost'}",
        f"--port={db.get('PORT') or 5432}",
        f"--username={db.get('USER') or 'postgres'}",
    ]
    return args, {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}


def _sqlite_copy(source_path: Path, target_path: Path) -> None:
    """SQLite's online backup API: consistent while others write to the source, and it writes the target
    through SQLite's own locking and journal (no stale -wal file survives a restore)."""
    source, target = sqlite3.connect(source_path), sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _dump_database(target: Path) -> None:
    db = settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        _sqlite_copy(Path(db["NAME"]), target)
    elif connection.vendor == "postgresql":
        args, env = _pg_args("pg_dump")
        result = subprocess.run(
            [*args, "--format=custom", f"--file={target}", db["NAME"]],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    else:
        raise BackupError(f"no backup method for the {connection.vendor} backend")


# --- restore ------------------------------------------------------------------------------------------------


@dataclass
class Restored:
    created: str
    files: dict[str, int]  # per tree: files restored
    notes: list[str]


def check_archive(tar: tarfile.TarFile) -> dict:
    """The manifest, once every member is a plain file with a safe name, listed, and of the listed hash."""
    try:
        manifest = json.load(tar.extractfile(MANIFEST))  # type: ignore[arg-type]
        listed: dict[str, dict] = manifest["members"]
        vendor = manifest["vendor"]
    except (KeyError, ValueError, TypeError, AttributeError):
        raise BackupError("the archive has no readable manifest.json: not a doudi backup") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"the archive's format {manifest.get('format')!r} is not one this version restores")
    if DATABASE_MEMBERS.get(vendor) not in listed:
        raise BackupError("the archive's manifest lists no database")
    seen = set()
    for member in tar.getmembers():
        name = member.name
        if name == MANIFEST:
            continue
        if not _safe_name(name) or not member.isfile():
            raise BackupError(f"the archive member {name!r} is not a plain file inside the site: refused")
        if name not in listed:
            raise BackupError(f"the archive member {name} is not in the manifest")
        if _sha256(tar.extractfile(member)) != listed[name].get("sha256"):  # type: ignore[arg-type]
            raise BackupError(
                f"the archive member {name} does not match its SHA-256 in the manifest (damaged)"
            )
        seen.add(name)
    missing = sorted(set(listed) - seen)
    if missing:
        raise BackupError(f"the archive lacks {len(missing)} member(s) its manifest lists, e.g. {missing[0]}")
    return manifest


def _safe_name(name: str) -> bool:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name:
        return False
    if name in DATABASE_MEMBERS.values() or name in (SECRET_KEY_MEMBER, AUDIT_KEY_MEMBER):
        return True
    return len(path.parts) > 1 and path.parts[0] in TREES


def site_contents() -> list[str]:
    """What a restore would overwrite: user accounts, audit entries, uploaded files, data files."""
    from doudi.accounts.models import User
    from doudi.audit.models import AuditEntry

    found = []
    tables = set(connection.introspection.table_names())
    for model, what in ((User, "user accounts"), (AuditEntry, "audit entries")):
        if model._meta.db_table in tables and model.objects.exists():
            found.append(what)
    for root in _trees().values():
        if next(_files(root), None) is not None:
            found.append(f"files in {root}")
    return found


def restore(archive: Path, *, force: bool = False) -> Restored:
    if not archive.is_file():
        raise BackupError(f"{archive} is not a file")
    try:
        tar = tarfile.open(archive, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive} is not a readable archive ({exc})") from None
    with tar:
        try:
            manifest = check_archive(tar)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"{archive} is damaged ({exc})") from None
        if manifest["vendor"] != connection.vendor:
            raise BackupError(
                f"the archive holds a {manifest['vendor']} database and this site runs {connection.vendor}: "
                "restore on a site of the same kind, then move (docs/operations.md)"
            )
        occupied = site_contents()
        if occupied and not force:
            raise BackupError(
                "this site is not empty (" + ", ".join(occupied) + "): restoring would replace it. "
                "Run with --force to replace it (take a backup of it first)."
            )
        var_dir = Path(settings.VAR_DIR)
        var_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=var_dir, prefix=".restore-") as work:
            staged = Path(work)
            tar.extractall(staged, filter="data")
            _restore_database(staged / DATABASE_MEMBERS[manifest["vendor"]])
            files = {name: _swap_tree(staged / name, root) for name, root in _trees().items()}
            notes = _restore_secrets(staged)
    return Restored(created=manifest["created"], files=files, notes=notes)


def _restore_database(dump: Path) -> None:
    db = settings.DATABASES["default"]
    connection.close()
    if connection.vendor == "sqlite":
        _sqlite_copy(dump, Path(db["NAME"]))
        return
    # Not `pg_restore --clean`: it cannot drop a partition's inherited constraints (payment lines are
    # partitioned by month on PostgreSQL). The schema is replaced whole instead, and the archive's SQL
    # streamed into psql — all in one transaction, so a failure leaves the database as it was.
    restore_args, env = _pg_args("pg_restore")
    psql = shutil.which("psql")
    if psql is None:
        raise BackupError("psql is not installed (Debian package postgresql-client)")
    psql_cmd = [
        psql,
        *restore_args[2:],  # host, port, user (pg_restore's --no-owner is not psql's)
        "--no-psqlrc",
        "--quiet",
        "--single-transaction",
        "--set=ON_ERROR_STOP=1",
        f"--dbname={db['NAME']}",
    ]
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as restore_errors:
        with subprocess.Popen(
            psql_cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errors, env=env
        ) as loader:
            assert loader.stdin is not None
            loader.stdin.write(
                b"DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n"
                b"ALTER SCHEMA public OWNER TO pg_database_owner;\nGRANT USAGE ON SCHEMA public TO PUBLIC;\n"
            )
            loader.stdin.flush()
            reader = subprocess.run(
                [*restore_args, "--file=-", str(dump)], stdout=loader.stdin, stderr=restore_errors, env=env
            )
            loader.stdin.close()
            loader.wait()
        if reader.returncode != 0 or loader.returncode != 0:
            errors.seek(0)
            restore_errors.seek(0)
            message = (restore_errors.read() + errors.read()).decode(errors="replace").strip()
            raise BackupError(f"pg_restore failed (the database is unchanged): {message}")


def _swap_tree(staged: Path, root: Path) -> int:
    """Put the archived directory in place of the site's (an empty one when the archive has none)."""
    staged.mkdir(exist_ok=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    old = root.with_name(f".{root.name}.before-restore")
    shutil.rmtree(old, ignore_errors=True)
    if root.exists():
        root.rename(old)
    shutil.move(staged, root)
    shutil.rmtree(old, ignore_errors=True)
    return sum(1 for _ in _files(root))


def _restore_secrets(staged: Path) -> list[str]:
    notes = []
    secret = staged / SECRET_KEY_MEMBER
    if os.environ.get("SECRET_KEY"):
        if os.environ["SECRET_KEY"] != secret.read_text().strip():
            notes.append(
                "SECRET_KEY in the environment differs from the archived one (secrets/secret_key): set it to "
                "the archived value, or sessions and signed links of the old site stop working"
            )
    else:
        _write_private(Path(settings.VAR_DIR) / "secret_key", secret.read_text().strip())
    archived = staged / AUDIT_KEY_MEMBER
    if not archived.exists():
        notes.append("the archive holds no audit key (its audit log was empty)")
    elif settings.DOUDI_AUDIT_KEY:
        if settings.DOUDI_AUDIT_KEY.strip().lower() != archived.read_text().strip():
            notes.append(
                "DOUDI_AUDIT_KEY in the environment differs from the archived key (secrets/audit_key): set it "
                "to the archived value, or the restored audit log cannot be verified"
            )
    else:
        _write_private(Path(settings.DOUDI_AUDIT_KEY_FILE), archived.read_text().strip())
    return notes


def _write_private(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    os.replace(tmp, path)
