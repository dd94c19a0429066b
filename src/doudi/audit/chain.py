"""The hash of an audit entry: HMAC-SHA256, under the audit key, of every field a reader is shown and of
the previous entry's hash. Without the key (kept outside the database) nobody can recompute the chain
after an edit."""

import hashlib
import hmac
import json
from datetime import UTC
from typing import Any

GENESIS = "0" * 64

# Every stored field of an entry except its own hash and the row id (the sequence number is the entry's
# position; row ids may have gaps where a transaction rolled back).
HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "region_path",
    "before",
    "after",
    "reason",
)


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(key: bytes, value: Any) -> str:
    return hmac.new(key, canonical(value), hashlib.sha256).hexdigest()


def hashed_fields(entry: Any) -> dict[str, Any]:
    """The hashed content of an entry (a model instance, saved or not)."""
    values = {name: getattr(entry, name) for name in HASHED_FIELDS}
    # Milliseconds in UTC: what dumpdata/loaddata (moving to PostgreSQL) keep of a timestamp.
    values["at"] = entry.at.astimezone(UTC).isoformat(timespec="milliseconds")
    return values


def entry_hash(key: bytes, entry: Any) -> str:
    fields = hashed_fields(entry)
    return sign(key, [entry.prev_hash, *(fields[name] for name in HASHED_FIELDS)])
