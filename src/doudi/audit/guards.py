"""The database-level guards of the audit log, and the check that they are still in place.

Entries (`audit_auditentry`) are append-only: UPDATE, DELETE and TRUNCATE are refused, and an INSERT must
carry the next sequence number. The chain tip (`audit_audithead`) can be created once, never deleted, and
only moves forward one entry at a time, to an entry that follows the previous tip — so a tip cannot be
moved back over a deleted tail without first dropping a guard. `missing_guards` lets `doudi audit verify`
notice a guard that was dropped, disabled or rewritten.

On PostgreSQL the entries are partitioned by month (audit/partitions.py): the row guards on the parent are
cloned onto every partition by PostgreSQL, and each partition gets its own TRUNCATE guard (a TRUNCATE of
one partition does not fire the parent's); `missing_guards` checks those too.
"""

import re

from doudi.audit.chain import GENESIS

_TIP_POINTS_AT_ENTRY = "SELECT 1 FROM audit_auditentry WHERE seq = NEW.count AND hash = NEW.last_hash"
_TIP_FOLLOWS = _TIP_POINTS_AT_ENTRY + " AND prev_hash = OLD.last_hash"
# A chained entry with exactly the content of the pending row being deleted (a forged one fails verify).
_IN_CHAIN = (
    "SELECT 1 FROM audit_auditentry e WHERE e.object_type = OLD.object_type AND e.object_id = OLD.object_id"
    " AND e.at = OLD.at AND e.action = OLD.action AND e.actor_label = OLD.actor_label"
    " AND e.region_path = OLD.region_path AND e.reason = OLD.reason"
)

SQLITE_TRIGGERS = {
    "audit_entry_no_update": """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
    "audit_entry_no_delete": """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
    "audit_entry_in_sequence": """CREATE TRIGGER audit_entry_in_sequence BEFORE INSERT ON audit_auditentry
       WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_auditentry)
       BEGIN SELECT RAISE(ABORT, 'audit entries are appended in sequence'); END""",
    # INSERT OR REPLACE would delete the tip row without firing a DELETE trigger: refuse a second row.
    "audit_head_insert": f"""CREATE TRIGGER audit_head_insert BEFORE INSERT ON audit_audithead
       WHEN NEW.id != 1 OR EXISTS (SELECT 1 FROM audit_audithead)
         OR NOT ((NEW.count = 0 AND NEW.last_hash = '{GENESIS}') OR EXISTS ({_TIP_POINTS_AT_ENTRY}))
       BEGIN SELECT RAISE(ABORT, 'the audit chain tip must point at the last entry'); END""",
    "audit_head_advance": f"""CREATE TRIGGER audit_head_advance BEFORE UPDATE ON audit_audithead
       WHEN NEW.id != OLD.id OR NEW.count != OLD.count + 1 OR NOT EXISTS ({_TIP_FOLLOWS})
       BEGIN SELECT RAISE(ABORT, 'the audit chain tip only moves forward, one entry at a time'); END""",
    "audit_head_no_delete": """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_audithead
       BEGIN SELECT RAISE(ABORT, 'the audit chain tip cannot be deleted'); END""",
    # Pending reads (audit/pending.py): never changed, deleted only once their entry is in the chain.
    "audit_pending_no_update": """CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pendingentry
       BEGIN SELECT RAISE(ABORT, 'pending audit entries are insert-only'); END""",
    "audit_pending_delete_chained": f"""CREATE TRIGGER audit_pending_delete_chained BEFORE DELETE
       ON audit_pendingentry WHEN NOT EXISTS ({_IN_CHAIN} AND e.actor_id IS OLD.actor_id)
       BEGIN SELECT RAISE(ABORT, 'a pending audit entry leaves only once it is in the chain'); END""",
}

POSTGRES_FUNCTIONS = {
    "audit_entry_append_only": """BEGIN RAISE EXCEPTION 'audit entries are append-only'; END""",
    # The tip's row lock first (record() holds it already): two inserts cannot both pass as the next
    # entry, which keeps `seq` — and, by the second test, `hash` — unique on the table partitioned by
    # month too, where no unique index can span the months (audit/partitions.py).
    "audit_entry_in_sequence": """BEGIN
         PERFORM 1 FROM audit_audithead WHERE id = 1 FOR UPDATE;
         IF NEW.seq IS DISTINCT FROM (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_auditentry) THEN
           RAISE EXCEPTION 'audit entries are appended in sequence';
         END IF;
         IF EXISTS (SELECT 1 FROM audit_auditentry WHERE hash = NEW.hash) THEN
           RAISE EXCEPTION 'an audit entry with this hash is already in the log' USING ERRCODE = 'unique_violation';
         END IF;
         RETURN NEW;
       END""",
    "audit_head_guard": f"""BEGIN
         IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
           RAISE EXCEPTION 'the audit chain tip cannot be deleted';
         ELSIF TG_OP = 'INSERT' THEN
           IF NEW.id <> 1 OR NOT ((NEW.count = 0 AND NEW.last_hash = '{GENESIS}')
                                  OR EXISTS ({_TIP_POINTS_AT_ENTRY})) THEN
             RAISE EXCEPTION 'the audit chain tip must point at the last entry';
           END IF;
         ELSIF NEW.id <> OLD.id OR NEW.count <> OLD.count + 1 OR NOT EXISTS ({_TIP_FOLLOWS}) THEN
           RAISE EXCEPTION 'the audit chain tip only moves forward, one entry at a time';
         END IF;
         RETURN NEW;
       END""",
    "audit_pending_guard": f"""BEGIN
         IF TG_OP = 'DELETE' THEN
           IF NOT EXISTS ({_IN_CHAIN} AND e.actor_id IS NOT DISTINCT FROM OLD.actor_id) THEN
             RAISE EXCEPTION 'a pending audit entry leaves only once it is in the chain';
           END IF;
           RETURN OLD;
         END IF;
         RAISE EXCEPTION 'pending audit entries are insert-only';
       END""",
}
# name → (table, the trigger's definition as pg_get_triggerdef prints it, without the schema)
POSTGRES_TRIGGERS = {
    "audit_entry_no_change": (
        "audit_auditentry",
        "BEFORE DELETE OR UPDATE ON audit_auditentry FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
    ),
    "audit_entry_no_truncate": (
        "audit_auditentry",
        "BEFORE TRUNCATE ON audit_auditentry FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()",
    ),
    "audit_entry_in_sequence": (
        "audit_auditentry",
        "BEFORE INSERT ON audit_auditentry FOR EACH ROW EXECUTE FUNCTION audit_entry_in_sequence()",
    ),
    "audit_head_guard": (
        "audit_audithead",
        "BEFORE INSERT OR DELETE OR UPDATE ON audit_audithead FOR EACH ROW EXECUTE FUNCTION audit_head_guard()",
    ),
    "audit_head_no_truncate": (
        "audit_audithead",
        "BEFORE TRUNCATE ON audit_audithead FOR EACH STATEMENT EXECUTE FUNCTION audit_head_guard()",
    ),
    "audit_pending_guard": (
        "audit_pendingentry",
        "BEFORE DELETE OR UPDATE ON audit_pendingentry FOR EACH ROW EXECUTE FUNCTION audit_pending_guard()",
    ),
    "audit_pending_no_truncate": (
        "audit_pendingentry",
        "BEFORE TRUNCATE ON audit_pendingentry FOR EACH STATEMENT EXECUTE FUNCTION audit_pending_guard()",
    ),
}
# The tables each guard is on: a migration before audit 0005 installs the guards of the tables it has.
_SQLITE_TABLES = {name: re.search(r"\bON (audit_\w+)", sql).group(1) for name, sql in SQLITE_TRIGGERS.items()}  # type: ignore[union-attr]


def _sqlite_install(tables: set[str]) -> list[str]:
    present = {name: sql for name, sql in SQLITE_TRIGGERS.items() if _SQLITE_TABLES[name] in tables}
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS] + list(present.values())


def _postgres_install(tables: set[str], months: list[str]) -> list[str]:
    from doudi.audit.partitions import truncate_guard_sql

    functions = [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$"
        for name, body in POSTGRES_FUNCTIONS.items()
    ]
    triggers = [
        f"CREATE TRIGGER {name} {definition}"
        for name, (table, definition) in POSTGRES_TRIGGERS.items()
        if table in tables
    ]
    # TRUNCATE of one month's partition does not fire the parent's trigger: each partition has its own.
    return (
        functions + _remove("postgresql", tables, months) + triggers + [truncate_guard_sql(m) for m in months]
    )


def _remove(vendor: str, tables: set[str], months: list[str]) -> list[str]:
    if vendor == "postgresql":
        drops = [
            f"DROP TRIGGER IF EXISTS {name} ON {table}"
            for name, (table, _) in POSTGRES_TRIGGERS.items()
            if table in tables
        ]
        return drops + [f"DROP TRIGGER IF EXISTS audit_entry_no_truncate ON {m}" for m in months]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS]


def _partitions(connection) -> list[str]:
    """The month partitions of the entries on PostgreSQL (none for the plain table)."""
    if connection.vendor != "postgresql":
        return []
    from doudi.audit.partitions import partitions

    with connection.cursor() as cursor:
        return list(partitions(cursor))


def _run(connection, statements):
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def _tables(connection) -> set[str]:
    return set(connection.introspection.table_names())


def install_guard(connection) -> None:
    tables = _tables(connection)
    if connection.vendor == "postgresql":
        _run(connection, _postgres_install(tables, _partitions(connection)))
    else:
        _run(connection, _sqlite_install(tables))


def remove_guard(connection) -> None:
    """Only for migrations that rewrite the log on purpose and for test teardown (a flush must empty every
    table) — never in the application."""
    _run(connection, _remove(connection.vendor, _tables(connection), _partitions(connection)))


def _same(a: str, b: str) -> bool:
    return re.sub(r"\s+", " ", a).strip() == re.sub(r"\s+", " ", b).strip()


def missing_guards(connection) -> list[str]:
    """What `doudi audit verify` reports about the guards: each one dropped, disabled or rewritten."""
    if connection.vendor == "postgresql":
        return _postgres_missing(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        present = dict(cursor.fetchall())
    problems = []
    for name, sql in SQLITE_TRIGGERS.items():
        if name not in present:
            problems.append(f"database guard {name} is missing (dropped)")
        elif not _same(present[name], sql):
            problems.append(f"database guard {name} was altered")
    return problems


def _postgres_missing(connection) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT t.tgname, t.tgenabled, pg_get_triggerdef(t.oid), p.proname, p.prosrc
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
               WHERE c.relname = ANY(%s) AND NOT t.tgisinternal""",
            [sorted({table for table, _ in POSTGRES_TRIGGERS.values()})],
        )
        present = {row[0]: row[1:] for row in cursor.fetchall()}
    problems = []
    for name, (_table, definition) in POSTGRES_TRIGGERS.items():
        if name not in present:
            problems.append(f"database guard {name} is missing (dropped)")
            continue
        enabled, printed, function, source = present[name]
        # 'O' fires in normal sessions, 'A' always; 'D' (disabled) and 'R' (replica only) do not guard.
        if enabled not in ("O", "A"):
            problems.append(f"database guard {name} is disabled")
        printed = re.sub(r"^CREATE TRIGGER \S+ ", "", printed).replace("public.", "")
        if not _same(printed, definition) or not _same(source, POSTGRES_FUNCTIONS.get(function, "")):
            problems.append(f"database guard {name} was altered")
    return problems + _partition_problems(connection)


def _partition_problems(connection) -> list[str]:
    """Each month partition: the parent's row guards (cloned onto it) enabled, its own TRUNCATE guard in
    place, enabled and unchanged."""
    from doudi.audit.partitions import truncate_guard_sql

    months = _partitions(connection)
    if not months:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, t.tgname, t.tgenabled, pg_get_triggerdef(t.oid), p.prosrc
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid
               WHERE c.relname = ANY(%s) AND NOT t.tgisinternal""",
            [months],
        )
        present = {(row[0], row[1]): row[2:] for row in cursor.fetchall()}
    problems = []
    for month in months:
        for name in ("audit_entry_no_change", "audit_entry_in_sequence", "audit_entry_no_truncate"):
            found = present.get((month, name))
            if found is None:
                if name == "audit_entry_no_truncate":  # a clone goes only with the parent's (reported above)
                    problems.append(f"database guard {name} is missing on {month} (dropped)")
                continue
            enabled, printed, source = found
            if enabled not in ("O", "A"):
                problems.append(f"database guard {name} is disabled on {month}")
            if name == "audit_entry_no_truncate":
                printed = printed.replace("public.", "")
                if not _same(printed, truncate_guard_sql(month)) or not _same(
                    source, POSTGRES_FUNCTIONS["audit_entry_append_only"]
                ):
                    problems.append(f"database guard {name} was altered on {month}")
    return problems
