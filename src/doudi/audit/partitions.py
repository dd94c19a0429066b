"""Audit entries partitioned by month on PostgreSQL (docs/scale.md; issue 14 part 3).

`audit_auditentry` is, on PostgreSQL, a table partitioned by RANGE (at): one partition per calendar
month in the site's time zone (`audit_auditentry_p202612` holds December 2026, Beijing time) and a
DEFAULT partition, so an insert never fails for want of a month. SQLite keeps the plain table.
Migration 0006 converts an existing table with its rows; `convert()` and `revert()` are its two
directions, `ensure_months()` creates the months ahead (at migrate time and by `doudi audit
partitions`, monthly from cron).

What the partitioning changes, and how the log's guarantees are kept:

- A unique key of a partitioned table must hold the partition key: the primary key is (id, at), ids
  still from one sequence. `seq` and `hash` stay unique across the whole log without a unique index:
  the insert guard (guards.py, `audit_entry_in_sequence`) takes the chain tip's row lock, then refuses
  any number but the last one + 1 and any hash already in the log (one probe of each partition's
  `hash` index), so no two entries can share either. The `seq` index of each partition serves the
  chain's order, the guard's MAX and the audit review's keyset.
- The append-only guards are row triggers on the parent (PostgreSQL clones them onto each
  partition) and a TRUNCATE trigger on the parent and on every partition: TRUNCATE of one
  partition does not fire the parent's. `missing_guards` checks each partition's.
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

PARENT = "audit_auditentry"
DEFAULT = f"{PARENT}_default"
AHEAD = 3  # months created ahead of the current one
SEQUENCE = f"{PARENT}_id_seq"

# The partitioned parent's key and indexes (each built on every partition).
PRIMARY_KEY = ("audit_auditentry_pkey", "PRIMARY KEY (id, at)")
INDEXES = (
    ("audit_auditentry_seq_idx", "(seq)"),
    ("audit_auditentry_hash_idx", "(hash)"),
    ("audit_auditentry_at_09f867ec", "(at)"),
    ("audit_audit_object__3eefc4_idx", "(object_type, object_id)"),
    ("audit_auditentry_actor_id_8ab278be", "(actor_id)"),
    ("audit_auditentry_region_path_22cacdf9", "(region_path)"),
    ("audit_auditentry_region_path_22cacdf9_like", "(region_path varchar_pattern_ops)"),
)
# The plain table's keys and indexes as Django's migrations named them (restored by `revert`).
PLAIN = (
    "ALTER TABLE audit_auditentry ADD CONSTRAINT audit_auditentry_pkey PRIMARY KEY (id)",
    "ALTER TABLE audit_auditentry ADD CONSTRAINT audit_auditentry_seq_882c87db_uniq UNIQUE (seq)",
    "ALTER TABLE audit_auditentry ADD CONSTRAINT audit_auditentry_hash_key UNIQUE (hash)",
    "CREATE INDEX audit_auditentry_hash_718ebbcd_like ON audit_auditentry (hash varchar_pattern_ops)",
    *(f"CREATE INDEX {name} ON audit_auditentry {columns}" for name, columns in INDEXES[2:]),
)


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def month_of(moment: datetime.datetime) -> datetime.date:
    """The first day of the site-local calendar month `moment` falls in."""
    return moment.astimezone(_zone()).date().replace(day=1)


def next_month(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def bounds(month: datetime.date) -> tuple[str, str]:
    """The month's partition bounds as timestamptz literals: local midnight of its first day and of the
    next month's."""
    start = datetime.datetime.combine(month, datetime.time.min, tzinfo=_zone())
    end = datetime.datetime.combine(next_month(month), datetime.time.min, tzinfo=_zone())
    return start.isoformat(), end.isoformat()


def partition_name(month: datetime.date) -> str:
    return f"{PARENT}_p{month:%Y%m}"


def is_partitioned(cur: Any) -> bool:
    cur.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
    row = cur.fetchone()
    return bool(row) and row[0] == "p"


def partitions(cur: Any) -> dict[str, str]:
    """partition → its bound as PostgreSQL prints it (empty for the plain table)."""
    cur.execute(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname",
        [PARENT],
    )
    return dict(cur.fetchall())


def _months_held(cur: Any, table: str) -> list[datetime.date]:
    cur.execute(
        f"SELECT DISTINCT date_trunc('month', at AT TIME ZONE %s)::date FROM {table} ORDER BY 1",
        [settings.TIME_ZONE],
    )
    return [row[0] for row in cur.fetchall()]


def _ahead(today: datetime.date, ahead: int) -> list[datetime.date]:
    months = [today.replace(day=1)]
    for _ in range(ahead):
        months.append(next_month(months[-1]))
    return months


def _guarded(cur: Any) -> bool:
    cur.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(%s) AND tgname = %s)",
        [PARENT, "audit_entry_no_truncate"],
    )
    return bool(cur.fetchone()[0])


def ensure_months(cur: Any, months: list[datetime.date] | None = None) -> list[str]:
    """Create the partitions of `months` (default: this month and AHEAD months after it) that do not
    exist yet; return their names. Entries of such a month already in the default partition (written
    before its partition existed) are moved into it: the default partition is detached — a detached
    table has no cloned guard — the month's rows copied into the new table and removed from the
    default, and both attached again, all in the caller's transaction under an exclusive lock, so no
    reader ever sees the log without them. Nothing on a plain table."""
    if not is_partitioned(cur):
        return []
    if months is None:
        months = _ahead(datetime.datetime.now(_zone()).date(), AHEAD)
    present = partitions(cur)
    created = []
    for month in sorted(set(months)):
        name = partition_name(month)
        if name in present:
            continue
        low, high = bounds(month)
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE at >= %s AND at < %s)", [low, high])
        if cur.fetchone()[0]:
            _check_deferred(cur)
            cur.execute(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE")
            cur.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}")
            cur.execute(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
            cur.execute(f"INSERT INTO {name} SELECT * FROM {DEFAULT} WHERE at >= %s AND at < %s", [low, high])
            cur.execute(f"DELETE FROM {DEFAULT} WHERE at >= %s AND at < %s", [low, high])
            cur.execute(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES FROM ('{low}') TO ('{high}')"
            )
            cur.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT")
        else:
            cur.execute(f"CREATE TABLE {name} PARTITION OF {PARENT} FOR VALUES FROM ('{low}') TO ('{high}')")
        if _guarded(cur):
            cur.execute(truncate_guard_sql(name))
        created.append(name)
    return created


def truncate_guard_sql(table: str) -> str:
    from doudi.audit.guards import POSTGRES_TRIGGERS

    definition = POSTGRES_TRIGGERS["audit_entry_no_truncate"][1].replace(f" ON {PARENT} ", f" ON {table} ")
    return f"CREATE TRIGGER audit_entry_no_truncate {definition}"


def _foreign_keys(cur: Any, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    return list(cur.fetchall())


def _check_deferred(cur: Any) -> None:
    """Run the checks deferred to the commit now (the actor's foreign key, Django's are INITIALLY
    DEFERRED): a table with pending trigger events cannot be dropped."""
    cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cur.execute("SET CONSTRAINTS ALL DEFERRED")


def convert(cur: Any) -> None:
    """The plain table → the partitioned one, every row kept (migration 0006 on PostgreSQL). The guards
    are dropped with the old table and installed again on the new one by the migration."""
    old = f"{PARENT}_unpartitioned"
    _check_deferred(cur)
    cur.execute(f"ALTER TABLE {PARENT} RENAME TO {old}")
    foreign = _foreign_keys(cur, old)
    cur.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
        [old],
    )
    for (name,) in cur.fetchall():
        cur.execute(f'ALTER TABLE {old} DROP CONSTRAINT "{name}"')
    cur.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s", [old]
    )
    for (name,) in cur.fetchall():
        cur.execute(f'DROP INDEX "{name}"')
    cur.execute(f"SELECT COALESCE(max(id), 0) FROM {old}")
    last_id = int(cur.fetchone()[0])
    cur.execute(f"ALTER TABLE {old} ALTER COLUMN id DROP IDENTITY IF EXISTS")
    cur.execute(
        f"CREATE TABLE {PARENT} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (at)"
    )
    cur.execute(f"CREATE SEQUENCE {SEQUENCE} OWNED BY {PARENT}.id")
    if last_id:
        cur.execute(f"SELECT setval('{SEQUENCE}', {last_id})")
    cur.execute(f"ALTER TABLE {PARENT} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}')")
    cur.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {PARENT} DEFAULT")
    ensure_months(cur, _months_held(cur, old) + _ahead(datetime.datetime.now(_zone()).date(), AHEAD))
    cur.execute(f"INSERT INTO {PARENT} SELECT * FROM {old} ORDER BY seq")
    cur.execute(f"DROP TABLE {old}")
    # Keys and indexes once the rows are in: one sorted build per partition, not a row-by-row insertion.
    cur.execute(f"ALTER TABLE {PARENT} ADD CONSTRAINT {PRIMARY_KEY[0]} {PRIMARY_KEY[1]}")
    for name, columns in INDEXES:
        cur.execute(f"CREATE INDEX {name} ON {PARENT} {columns}")
    for name, definition in foreign:
        cur.execute(f'ALTER TABLE {PARENT} ADD CONSTRAINT "{name}" {definition}')
    cur.execute(f"ANALYZE {PARENT}")


def revert(cur: Any) -> None:
    """The partitioned table → one plain table again, every row kept (migration 0006 reversed)."""
    old = f"{PARENT}_partitioned"
    _check_deferred(cur)
    cur.execute(f"ALTER TABLE {PARENT} RENAME TO {old}")
    foreign = _foreign_keys(cur, old)
    cur.execute(f"SELECT COALESCE(max(id), 0) FROM {old}")
    last_id = int(cur.fetchone()[0])
    cur.execute(f"CREATE TABLE {PARENT} (LIKE {old} INCLUDING CONSTRAINTS)")
    cur.execute(f"INSERT INTO {PARENT} SELECT * FROM {old} ORDER BY seq")
    cur.execute(f"DROP TABLE {old} CASCADE")  # its partitions, its sequence, its triggers
    cur.execute(f"ALTER TABLE {PARENT} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    if last_id:
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{PARENT}', 'id'), {last_id})")
    for sql in PLAIN:
        cur.execute(sql)
    for name, definition in foreign:
        cur.execute(f'ALTER TABLE {PARENT} ADD CONSTRAINT "{name}" {definition}')
