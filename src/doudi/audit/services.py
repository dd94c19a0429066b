"""Appending to the audit log. Callers pass plain JSON-able dicts for before/after."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from doudi.audit import pending
from doudi.audit.chain import GENESIS, entry_hash
from doudi.audit.checkpoints import checkpoint_files, compare, read_checkpoints, write_checkpoint
from doudi.audit.guards import missing_guards
from doudi.audit.keys import AuditKeyMissing, audit_key
from doudi.audit.models import AuditAction, AuditEntry, AuditHead, PendingEntry

SYSTEM = "system"


def _label(actor: Any) -> str:
    if actor is None:
        return SYSTEM
    return getattr(actor, "username", None) or str(actor)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


@transaction.atomic
def record(
    *,
    actor: Any,
    action: AuditAction | str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    region_path: str = "",
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditEntry:
    """Append one entry inside the caller's transaction (it rolls back with the business write)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        region_path = region_path or _region_path_of(obj)
    head = lock_head(wait=True)
    assert head is not None
    return append_locked(
        head,
        at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_label=_label(actor),
        action=str(action),
        object_type=object_type,
        object_id=object_id,
        region_path=region_path,
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason,
    )


def lock_head(*, wait: bool) -> AuditHead | None:
    """The chain's tip, locked for this transaction (created on the first append); None when `wait` is
    False and another transaction holds it."""
    head = AuditHead.objects.select_for_update(skip_locked=not wait).filter(id=1).first()
    if head is None and (wait or not AuditHead.objects.filter(id=1).exists()):
        head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    return head


def append_locked(head: AuditHead, **fields: Any) -> AuditEntry:
    """The next entry after `head` (locked by the caller's transaction), hashed and saved; the tip moved."""
    key = audit_key(create=head.count == 0)
    entry = AuditEntry(seq=head.count + 1, prev_hash=head.last_hash or GENESIS, **fields)
    entry.hash = entry_hash(key, entry)
    entry.save()
    AuditHead.objects.filter(id=1).update(count=models.F("count") + 1, last_hash=entry.hash)
    head.count, head.last_hash = entry.seq, entry.hash
    return entry


def record_read(*, actor: Any, obj: models.Model, reason: str = "") -> AuditEntry | PendingEntry:
    """查阅记录: every staff read of a person's record. In a web request it is written without the chain's
    lock and chained after the response (audit/pending.py); elsewhere it is chained at once."""
    if not pending.deferring():
        return record(actor=actor, action=AuditAction.READ, obj=obj, reason=reason)
    return pending.add(
        at=timezone.now(),
        actor_id=getattr(actor, "pk", None),
        actor_label=_label(actor),
        action=AuditAction.READ,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        region_path=_region_path_of(obj),
        reason=reason,
    )


def chained_entries() -> models.QuerySet[AuditEntry]:
    """The log as a reader sees it: the reads still pending (audit/pending.py) appended first, so a page
    listing who read what misses none."""
    pending.chain_pending()
    return AuditEntry.objects.all()


def _region_path_of(obj: models.Model) -> str:
    field = getattr(type(obj), "region_field", None)
    if field is None:
        return ""
    target: Any = obj
    for part in field.split("__") if field else []:
        target = getattr(target, part, None)
        if target is None:
            return ""
    return getattr(target, "path", "")


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]
    checkpoints: int = 0


def verify_chain(checkpoint_paths: list[Path] | None = None) -> VerifyResult:
    """Recompute every keyed hash in order; report edits, deletions, a truncated tail, a guard that is no
    longer in place, and any disagreement with the signed checkpoints (by default those in
    DOUDI_AUDIT_CHECKPOINT_DIR)."""
    problems = missing_guards(connection)
    try:
        pending.chain_pending()  # the reads written since the last chainer are verified with the rest
    except AuditKeyMissing:
        pass  # reported below
    head = AuditHead.objects.filter(id=1).first()
    try:
        key = audit_key()
    except AuditKeyMissing as exc:
        if head is None or head.count == 0:
            return VerifyResult(ok=not problems, checked=0, problems=problems)
        return VerifyResult(ok=False, checked=0, problems=[*problems, str(exc)])
    checkpoints, unreadable = read_checkpoints(key, checkpoint_files(checkpoint_paths))
    problems += unreadable
    wanted = {c.seq for c in checkpoints}
    hashes = {0: GENESIS}
    prev = GENESIS
    checked = 0
    for e in AuditEntry.objects.order_by("seq").iterator(chunk_size=5000):
        checked += 1
        if e.seq != checked:
            problems.append(f"entry {e.seq}: expected entry {checked} here (entries missing before it)")
        if e.prev_hash != prev:
            problems.append(
                f"entry {e.seq}: previous hash does not match (an entry before it was deleted or altered)"
            )
        if not hmac.compare_digest(entry_hash(key, e), e.hash):
            problems.append(f"entry {e.seq}: content does not match its hash (edited)")
        if e.seq in wanted:
            hashes[e.seq] = e.hash
        prev = e.hash
    if head is not None:
        if head.count != checked:
            problems.append(f"the log should hold {head.count} entries but holds {checked}")
        if head.last_hash != prev:
            problems.append("the last entry is not the recorded chain tip (entries removed from the end)")
    elif checked:
        problems.append("the chain tip record is missing")
    problems += compare(checkpoints, hashes, checked)
    return VerifyResult(ok=not problems, checked=checked, problems=problems, checkpoints=len(checkpoints))


def checkpoint(directory: Path | None = None) -> tuple[VerifyResult, Path | None]:
    """审计检查点: verify the chain, then sign its tip into a new file outside the database. A broken chain
    gets no checkpoint (signing it would vouch for the damage)."""
    result = verify_chain()
    if not result.ok:
        return result, None
    head = AuditHead.objects.filter(id=1).first()
    seq, tip = (head.count, head.last_hash) if head else (0, GENESIS)
    return result, write_checkpoint(audit_key(create=seq == 0), seq=seq, hash=tip, directory=directory)
