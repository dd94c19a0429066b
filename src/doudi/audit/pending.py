"""Staff reads off the chain's critical path (P4, docs/scale.md).

Appending to the keyed chain takes the tip's row lock (`AuditHead`), so every audited request used to
wait for every other one, and the page was sent only after that commit. A read (查阅记录) changes
nothing else, so inside a web request it is written as one INSERT into `audit_pendingentry` — no lock,
no hash — and appended to the chain by `chain_pending` once the response has been sent (the
`request_finished` signal, which the server sends after the body has gone out), or by whoever next needs
the chain whole: the pages that read the audit log, `doudi audit verify`/`checkpoint`, and `doudi audit
chain` (cron).

What is guaranteed (guards.py enforces it in the database; `doudi audit verify` checks the guards):

* the read is committed before the page is: the INSERT runs, in autocommit, before the view returns;
* a pending row cannot be changed (no UPDATE) nor removed (no TRUNCATE; a DELETE only of a row whose
  exact content — time, actor, action, object, region, reason — is already an entry of the chain). The
  chainer appends the entries and deletes their rows in one transaction, under the tip's lock;
* once chained, a read is an AuditEntry like any other: keyed hash, sequence number, insert-only.

So a read can leave the log only as it could before: by dropping a guard, which verify reports. Between
the response and the chainer (normally milliseconds) the row is protected by the guards alone, not yet
by the keyed hash. The entry's `at` is the time of the read; its `seq` is its place in the chain, so the
times of entries are no longer in sequence order.

Outside a web request (a command, a task, a test calling a selector) a read is chained at once, as
before.
"""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from django.db import transaction

log = logging.getLogger(__name__)

_in_request: contextvars.ContextVar[bool] = contextvars.ContextVar("doudi_audit_in_request", default=False)
_wrote: contextvars.ContextVar[bool] = contextvars.ContextVar("doudi_audit_wrote_pending", default=False)


def deferring() -> bool:
    """Whether a read now goes to the pending table (inside a web request)."""
    return _in_request.get()


def add(**fields: Any) -> Any:
    """One pending row (a single INSERT, no lock); chained after the response."""
    from doudi.audit.models import PendingEntry

    entry = PendingEntry.objects.create(**fields)
    _wrote.set(True)
    return entry


def request_started(**kwargs: Any) -> None:
    _in_request.set(True)
    _wrote.set(False)


def request_finished(**kwargs: Any) -> None:
    """After the response: append what this request left pending. If another process holds the tip, its
    chainer or the next one takes the rows (nothing waits here for the lock)."""
    _in_request.set(False)
    if not _wrote.get():
        return
    _wrote.set(False)
    try:
        chain_pending(wait=False)
    except Exception:  # the rows stay pending, guarded, for the next chainer; the page has been sent
        log.exception("audit: chaining the pending reads failed; they stay pending")


def chain_pending(*, wait: bool = True, batch: int = 1000) -> int:
    """Append every pending row to the chain, oldest first, and delete it; the number appended. With
    `wait=False` it gives up at once if another transaction holds the chain's tip."""
    from doudi.audit.models import PendingEntry
    from doudi.audit.services import append_locked, lock_head

    done = 0
    if not PendingEntry.objects.exists():  # the usual case for a reader of the log: no lock taken
        return done
    while True:
        with transaction.atomic():
            head = lock_head(wait=wait)
            if head is None:
                return done
            rows = list(PendingEntry.objects.order_by("id")[:batch])
            for row in rows:
                append_locked(
                    head,
                    at=row.at,
                    actor_id=row.actor_id,
                    actor_label=row.actor_label,
                    action=row.action,
                    object_type=row.object_type,
                    object_id=row.object_id,
                    region_path=row.region_path,
                    reason=row.reason,
                )
            PendingEntry.objects.filter(id__in=[r.id for r in rows])._raw_delete(PendingEntry.objects.db)
        done += len(rows)
        if len(rows) < batch:
            return done
