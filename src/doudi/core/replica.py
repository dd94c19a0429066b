"""只读副本: reports, dashboards and exports read from a PostgreSQL replica when one is configured.

A province's monthly report, a supervisor's dashboard or a 100,000-row export is a long read; on a
streaming replica (hot standby) it does not compete with the case officers' writes on the primary.
`DATABASE_REPLICA_URL` names the replica (the `replica` alias). Only reads made inside `reporting()` —
the report, dashboard and export views, marked with `@reads_from_replica` — go there; every write, and
every other read (a case page must see what its officer just saved), goes to the primary. Without a
replica everything reads the primary, so the embedded SQLite set-up is unchanged.

A replica lags the primary by a moment: a report may miss the last second's writes, which is why
nothing that decides or writes reads inside `reporting()`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper

REPLICA = "replica"

_reporting: ContextVar[bool] = ContextVar("doudi_reporting", default=False)


@contextmanager
def reporting() -> Iterator[None]:
    """Reads inside this block may be served by the replica."""
    token = _reporting.set(True)
    try:
        yield
    finally:
        _reporting.reset(token)


def reads_from_replica(view: Callable[..., Any]) -> Callable[..., Any]:
    """A read-only view (report, dashboard, export) whose reads may be served by the replica."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with reporting():
            return view(*args, **kwargs)

    return wrapped


def read_alias() -> str:
    """The alias a read made now goes to. A read inside a transaction on the primary stays there even
    in a report: it is part of a write (the audit entry of an export reads the chain's head)."""
    if (
        _reporting.get()
        and REPLICA in settings.DATABASES
        and getattr(settings, "DOUDI_REPLICA_READS", True)
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return REPLICA
    return DEFAULT_DB_ALIAS


def read_connection() -> BaseDatabaseWrapper:
    """The connection for a raw-SQL read (reports' aggregate queries)."""
    return connections[read_alias()]


class ReplicaRouter:
    """Writes and migrations to the primary; reads inside `reporting()` to the replica."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return read_alias()

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, two doors

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS
