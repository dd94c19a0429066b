"""审计检查点: signed statements "the log held N entries, the last one hashing to H, at time T", written
to a directory outside the database that a supervisor keeps (or copies away).

The keyed chain catches an edited or inserted entry, but not the last entries deleted with the tip moved
back by someone who first dropped the guards: the shorter chain is still a valid chain. A checkpoint
taken before the deletion is not — verify compares the chain with every checkpoint it is given.
"""

from __future__ import annotations

import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from doudi.audit.chain import sign
from doudi.audit.keys import key_id

SIGNED = ("seq", "hash", "at", "key_id")


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    source: str


def write_checkpoint(key: bytes, *, seq: int, hash: str, directory: Path | None = None) -> Path:
    """One new file per checkpoint (never overwritten), written whole then renamed into place."""
    directory = Path(directory or settings.DOUDI_AUDIT_CHECKPOINT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    body = {"seq": seq, "hash": hash, "at": now.isoformat(), "key_id": key_id(key)}
    body["signature"] = sign(key, [body[name] for name in SIGNED])
    target = directory / f"audit-checkpoint-{seq:012d}-{now:%Y%m%dT%H%M%S%fZ}.json"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".checkpoint.")
    with os.fdopen(fd, "w") as f:
        json.dump(body, f, indent=1)
    os.chmod(tmp, 0o644)  # no secret inside; a supervisor's tools may read it
    os.replace(tmp, target)
    return target


def checkpoint_files(paths: list[Path] | None = None) -> list[Path]:
    """The given files and the *.json files of the given directories; by default the configured directory."""
    if paths is None:
        default = Path(settings.DOUDI_AUDIT_CHECKPOINT_DIR)
        paths = [default] if default.is_dir() else []
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return found


def read_checkpoints(key: bytes, paths: list[Path]) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signature holds, and a problem for each file that is unreadable or forged."""
    good: list[Checkpoint] = []
    problems: list[str] = []
    for path in paths:
        try:
            body = json.loads(path.read_text())
            signed = [body[name] for name in SIGNED]
            signature = body["signature"]
            seq = body["seq"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            problems.append(f"checkpoint {path}: unreadable ({exc.__class__.__name__}: {exc})")
            continue
        if body["key_id"] != key_id(key):
            problems.append(
                f"checkpoint {path}: signed with another audit key (id {body['key_id']}, this site's key is "
                f"{key_id(key)})"
            )
        elif (
            not hmac.compare_digest(str(signature), sign(key, signed)) or not isinstance(seq, int) or seq < 0
        ):
            problems.append(f"checkpoint {path}: signature does not match (the file was altered or forged)")
        else:
            good.append(Checkpoint(seq=seq, hash=body["hash"], at=body["at"], source=str(path)))
    return good, problems


def compare(checkpoints: list[Checkpoint], hashes: dict[int, str], length: int) -> list[str]:
    """`hashes`: the chain's hash at each checkpointed sequence number; `length`: entries in the chain."""
    problems = []
    for c in checkpoints:
        if c.seq > length:
            problems.append(
                f"checkpoint {c.source}: the log held {c.seq} entries at {c.at} but now holds {length} "
                "(entries removed from the end)"
            )
        elif hashes.get(c.seq) != c.hash:
            problems.append(
                f"checkpoint {c.source}: entry {c.seq} is not the one recorded at {c.at} (the log was rewritten)"
            )
    return problems
