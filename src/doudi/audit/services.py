"""Appending to the audit log. Callers pass plain JSON-able dicts for before/after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from doudi.audit.chain import GENESIS, entry_hash
from doudi.audit.models import AuditAction, AuditEntry, AuditHead

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
    head, _ = AuditHead.objects.select_for_update().get_or_create(id=1)
    at = timezone.now()
    fields = dict(
        at=at.isoformat(),
        actor_label=_label(actor),
        action=str(action),
        object_type=object_type,
        object_id=object_id,
        region_path=region_path,
        before=_jsonable(before),
        after=_jsonable(after),
        reason=reason,
    )
    digest = entry_hash(prev_hash=head.last_hash or GENESIS, **fields)
    entry = AuditEntry.objects.create(
        at=at,
        actor=actor if getattr(actor, "pk", None) else None,
        prev_hash=head.last_hash,
        hash=digest,
        **{k: v for k, v in fields.items() if k != "at"},
    )
    AuditHead.objects.filter(id=1).update(count=models.F("count") + 1, last_hash=digest)
    return entry


def record_read(*, actor: Any, obj: models.Model, reason: str = "") -> AuditEntry:
    """查阅记录: every staff read of a person's record."""
    return record(actor=actor, action=AuditAction.READ, obj=obj, reason=reason)


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


def verify_chain() -> VerifyResult:
    """Recompute every hash in order; report edits, deletions and a truncated tail."""
    problems: list[str] = []
    prev = GENESIS
    checked = 0
    for e in AuditEntry.objects.order_by("id").iterator(chunk_size=5000):
        checked += 1
        if e.prev_hash != prev:
            problems.append(
                f"entry {e.id}: previous hash does not match (an entry before it was deleted or altered)"
            )
        expected = entry_hash(
            prev_hash=e.prev_hash,
            at=e.at.isoformat(),
            actor_label=e.actor_label,
            action=e.action,
            object_type=e.object_type,
            object_id=e.object_id,
            region_path=e.region_path,
            before=e.before,
            after=e.after,
            reason=e.reason,
        )
        if expected != e.hash:
            problems.append(f"entry {e.id}: content does not match its hash (edited)")
        prev = e.hash
    head = AuditHead.objects.filter(id=1).first()
    if head is not None:
        if head.count != checked:
            problems.append(f"the log should hold {head.count} entries but holds {checked}")
        if head.last_hash != prev:
            problems.append("the last entry is not the recorded chain tip (entries removed from the end)")
    elif checked:
        problems.append("the chain tip record is missing")
    return VerifyResult(ok=not problems, checked=checked, problems=problems)
