"""The hash of an audit entry: canonical JSON of its content plus the previous hash."""

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def entry_hash(
    *,
    prev_hash: str,
    at: str,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    region_path: str,
    before: Any,
    after: Any,
    reason: str,
) -> str:
    body = json.dumps(
        [prev_hash, at, actor_label, action, object_type, object_id, region_path, before, after, reason],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()
