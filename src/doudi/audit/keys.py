"""审计密钥: the secret that keys the audit chain and signs its checkpoints.

It lives outside the database — `DOUDI_AUDIT_KEY` (hex) or the file `DOUDI_AUDIT_KEY_FILE` (default
var/audit_key, created once with mode 0600) — so someone who can write to the database cannot recompute
the chain. Losing it makes the existing log unverifiable: it is part of every backup.
"""

import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class AuditKeyMissing(ImproperlyConfigured):
    pass


def key_file() -> Path:
    return Path(settings.DOUDI_AUDIT_KEY_FILE)


def audit_key(*, create: bool = False) -> bytes:
    """The key; `create` makes a new one when there is none (only right while the log is empty — a new key
    for an existing log would declare every entry forged)."""
    if settings.DOUDI_AUDIT_KEY:
        return _parse(settings.DOUDI_AUDIT_KEY, "DOUDI_AUDIT_KEY")
    path = key_file()
    if not path.exists():
        if not create:
            raise AuditKeyMissing(
                f"the audit key file {path} is missing: restore it from the backup the log was written "
                "with (or set DOUDI_AUDIT_KEY_FILE to where it is)"
            )
        _create(path)
    return _parse(path.read_text(), str(path))


def key_id(key: bytes) -> str:
    """A short public fingerprint, to tell which key signed a checkpoint."""
    return hashlib.sha256(b"doudi-audit-key-id:" + key).hexdigest()[:16]


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ImproperlyConfigured(f"the audit key in {where} is not hexadecimal") from None
    if len(key) < 32:
        raise ImproperlyConfigured(f"the audit key in {where} is shorter than 32 bytes")
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked into place: two processes starting together keep
    # one key, and nobody ever reads a half-written one.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit_key.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
