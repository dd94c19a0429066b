"""Payment lines partitioned by month on PostgreSQL (docs/scale.md; issue 14 part 3).

`payments_paymentline` is, on PostgreSQL, a table partitioned by LIST (month): one partition per
month (`payments_paymentline_p202003`) and a DEFAULT partition for any month that has none. SQLite
keeps the plain table. Migration 0007 converts an existing table with its rows; `convert()` and
`revert()` are that migration's two directions.

What the partitioning changes, and how the payroll's guarantees are kept:

- The month's payroll is written into a fresh partition (`load_in_lanes`, `build_indexes`,
  `attach`): the lines are copied into a standalone table with no index by two connections, its keys
  and indexes are built once after the load (a sort each, not an index insertion per line) by two
  connections, and the table is attached as the month's partition in one transaction. Until then no
  query sees the table, and a payroll killed at any point leaves a table the next attempt drops.
- A unique key of a partitioned table must hold the partition key: the primary key is (id, month)
  (ids still come from one sequence) and the reference's key is (ref, month) — a reference begins
  with the month it was issued in, so it stays unique across months by construction.
- One payment per case whatever the month (`one_payment_per_case`) cannot be an index of a table
  partitioned by month: it is kept by the small table `payments_oneoffcase` (one row per one-off
  line, its key unique), maintained by triggers on insert, delete and truncate of the lines.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa

from doudi.payments.models import ONE_OFF_SCHEMES

PARENT = "payments_paymentline"
DEFAULT = f"{PARENT}_default"
GUARD = "payments_oneoffcase"
ONE_OFF = tuple(s.value for s in ONE_OFF_SCHEMES)
FILLFACTOR = 50  # issuing a month's bank files is a heap-only update in place (migration 0006)
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

_ONE_OFF_SQL = ", ".join(f"'{s}'" for s in ONE_OFF)

# The parent's unique keys and indexes (names as the model's Meta names them), each also built on a
# partition before it is attached.
CONSTRAINTS = (
    ("payments_paymentline_pkey", "PRIMARY KEY", "(id, month)"),
    ("one_payment_per_month", "UNIQUE", "(beneficiary_id, scheme, month, arrears_seq)"),
    ("one_payment_line_per_ref", "UNIQUE", "(ref, month)"),
)
INDEXES = (
    ("payments_pa_run_id_542ada_idx", "(run_id, district, scheme)", ""),
    ("payments_pa_issue_r_41e8a1_idx", "(issue_run_id, bank_code)", ""),
    ("payment_line_reissuable", "(month)", "WHERE NOT failure_code = '' OR flag = 'no_account'"),
)
# Server CPU seconds each took to build on a month of 3,491,744 lines (P2 at 1,000,000 households, one
# backend, docs/benchmarks.md; the others ~1.5 s): the index lanes take the dearest first, so that
# they finish together.
BUILD_COST = {
    "payments_pa_run_id_542ada_idx": 5.2,
    "one_payment_per_month": 3.3,
    "one_payment_line_per_ref": 3.2,
}

GUARD_SQL = f"""
CREATE TABLE {GUARD} (
    beneficiary_id bigint NOT NULL,
    scheme varchar(16) NOT NULL,
    month varchar(7) NOT NULL,
    CONSTRAINT one_payment_per_case PRIMARY KEY (beneficiary_id, scheme)
);
CREATE FUNCTION payments_oneoffcase_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {GUARD} (beneficiary_id, scheme, month) VALUES (NEW.beneficiary_id, NEW.scheme, NEW.month);
    RETURN NULL;
END $$;
CREATE FUNCTION payments_oneoffcase_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {GUARD} WHERE beneficiary_id = OLD.beneficiary_id AND scheme = OLD.scheme AND month = OLD.month;
    RETURN NULL;
END $$;
CREATE FUNCTION payments_oneoffcase_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE {GUARD};
    RETURN NULL;
END $$;
CREATE TRIGGER one_payment_per_case_insert AFTER INSERT ON {PARENT} FOR EACH ROW
    WHEN (NEW.scheme IN ({_ONE_OFF_SQL})) EXECUTE FUNCTION payments_oneoffcase_insert();
CREATE TRIGGER one_payment_per_case_delete AFTER DELETE ON {PARENT} FOR EACH ROW
    WHEN (OLD.scheme IN ({_ONE_OFF_SQL})) EXECUTE FUNCTION payments_oneoffcase_delete();
CREATE TRIGGER one_payment_per_case_update BEFORE UPDATE OF scheme, beneficiary_id, month ON {PARENT}
    FOR EACH ROW WHEN (NEW.scheme IN ({_ONE_OFF_SQL}) OR OLD.scheme IN ({_ONE_OFF_SQL}))
    EXECUTE FUNCTION payments_oneoffcase_refuse();
CREATE TRIGGER one_payment_per_case_truncate AFTER TRUNCATE ON {PARENT}
    FOR EACH STATEMENT EXECUTE FUNCTION payments_oneoffcase_truncate();
"""
# A one-off line's key is never edited (the key moves only by delete and insert).
REFUSE_SQL = """
CREATE FUNCTION payments_oneoffcase_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.scheme IS DISTINCT FROM OLD.scheme OR NEW.beneficiary_id IS DISTINCT FROM OLD.beneficiary_id
       OR NEW.month IS DISTINCT FROM OLD.month THEN
        RAISE EXCEPTION 'a one-off payment line keeps its case, scheme and month' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
"""


def partition_name(month: str) -> str:
    if not MONTH.fullmatch(month):
        raise ValueError(f"not a month: {month!r}")
    return f"{PARENT}_p{month.replace('-', '')}"


def _month_partition_sql(month: str) -> str:
    return (
        f"CREATE TABLE {partition_name(month)} PARTITION OF {PARENT} FOR VALUES IN ('{month}') "
        f"WITH (fillfactor = {FILLFACTOR})"
    )


def convert(cur: Any) -> None:
    """The plain table → the partitioned one, every row kept (migration 0007 on PostgreSQL)."""
    old = f"{PARENT}_unpartitioned"
    cur.execute(f"ALTER TABLE {PARENT} RENAME TO {old}")
    cur.execute(
        "SELECT c.conname FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u')",
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
        f"CREATE TABLE {PARENT} (LIKE {old} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY LIST (month)"
    )
    cur.execute(f"CREATE SEQUENCE {PARENT}_id_seq OWNED BY {PARENT}.id")
    if last_id:
        cur.execute(f"SELECT setval('{PARENT}_id_seq', {last_id})")
    cur.execute(f"ALTER TABLE {PARENT} ALTER COLUMN id SET DEFAULT nextval('{PARENT}_id_seq')")
    _keys_and_indexes(cur, PARENT, lambda index: index)
    cur.execute(f"CREATE TABLE {DEFAULT} PARTITION OF {PARENT} DEFAULT WITH (fillfactor = {FILLFACTOR})")
    cur.execute(f"SELECT DISTINCT month FROM {old} ORDER BY month")
    for (month,) in cur.fetchall():
        if MONTH.fullmatch(month):
            cur.execute(_month_partition_sql(month))
    cur.execute(f"INSERT INTO {PARENT} SELECT * FROM {old}")
    cur.execute(REFUSE_SQL)
    cur.execute(GUARD_SQL)
    cur.execute(
        f"INSERT INTO {GUARD} (beneficiary_id, scheme, month) SELECT beneficiary_id, scheme, month FROM {PARENT} "
        f"WHERE scheme IN ({_ONE_OFF_SQL})"
    )
    cur.execute(f"DROP TABLE {old}")
    cur.execute(f"ANALYZE {PARENT}")


def revert(cur: Any) -> None:
    """The partitioned table → one plain table again, every row kept (migration 0007 reversed)."""
    old = f"{PARENT}_partitioned"
    cur.execute(f"ALTER TABLE {PARENT} RENAME TO {old}")
    cur.execute(f"SELECT COALESCE(max(id), 0) FROM {old}")
    last_id = int(cur.fetchone()[0])
    cur.execute(f"CREATE TABLE {PARENT} (LIKE {old} INCLUDING CONSTRAINTS) WITH (fillfactor = {FILLFACTOR})")
    cur.execute(f"ALTER TABLE {PARENT} ALTER COLUMN arrears_seq SET DEFAULT 0")
    cur.execute(f"INSERT INTO {PARENT} SELECT * FROM {old}")
    cur.execute(f"DROP TABLE {old} CASCADE")  # its partitions, its sequence, its triggers
    cur.execute(f"DROP TABLE {GUARD}")
    for function in ("insert", "delete", "truncate", "refuse"):
        cur.execute(f"DROP FUNCTION payments_oneoffcase_{function}()")
    cur.execute(f"ALTER TABLE {PARENT} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
    if last_id:
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{PARENT}', 'id'), {last_id})")
    cur.execute(f"ALTER TABLE {PARENT} ADD CONSTRAINT payments_paymentline_pkey PRIMARY KEY (id)")
    cur.execute(
        f"ALTER TABLE {PARENT} ADD CONSTRAINT one_payment_per_month UNIQUE (beneficiary_id, scheme, month, arrears_seq)"
    )
    cur.execute(f"ALTER TABLE {PARENT} ADD CONSTRAINT one_payment_line_per_ref UNIQUE (ref)")
    cur.execute(
        f"CREATE UNIQUE INDEX one_payment_per_case ON {PARENT} (beneficiary_id, scheme) WHERE scheme IN ({_ONE_OFF_SQL})"
    )
    for name, columns, where in INDEXES:
        cur.execute(f"CREATE INDEX {name} ON {PARENT} {columns} {where}")


def is_partitioned(cur: Any) -> bool:
    cur.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [PARENT])
    return cur.fetchone()[0] == "p"


def partition_exists(cur: Any, month: str) -> bool:
    cur.execute(f"SELECT to_regclass('{partition_name(month)}') IS NOT NULL")
    return bool(cur.fetchone()[0])


def is_attached(cur: Any, month: str) -> bool:
    cur.execute(
        f"SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = '{partition_name(month)}'::regclass)"
    )
    return bool(cur.fetchone()[0])


def load_in_lanes(month: str, table: pa.Table, pause: Callable[[int], None], lanes: int = 2) -> None:
    """Binary COPY of `table` into the month's partition-to-be by `lanes` connections at once (the
    server's COPY work on every core), each committing its share. Not yet attached, the rows are
    seen by no query; a load killed half-way is dropped by the next attempt (`fresh_partition`)."""
    from doudi.verification.dataio import adbc_connection, in_threads

    name = partition_name(month)
    batches = table.to_batches(max_chunksize=100_000)  # two in flight: as much memory as one of 200,000
    written = [0]
    errors: list[BaseException] = []
    lock = threading.Lock()

    def lane(share: list[pa.RecordBatch]) -> None:
        with adbc_connection() as con:
            with con.cursor() as cur:
                for batch in share:
                    if errors:  # another lane failed: stop
                        return
                    cur.adbc_ingest(name, pa.Table.from_batches([batch]), mode="append")
                    with lock:
                        written[0] += batch.num_rows
                        done = written[0]
                    pause(done)
            con.commit()

    in_threads([(lane, (batches[i::lanes],)) for i in range(lanes)], errors)


def fresh_partition(cur: Any, month: str, run_id: int) -> bool:
    """Whether the month's lines of `run_id` can be loaded into a new partition: none exists for the
    month (a partition holding only this run's lines — an attempt that committed its lines and died
    before finishing — is dropped here, with its one-off keys) and the default partition holds no
    line of the month. Otherwise the lines go through the parent, its indexes kept line by line."""
    if not MONTH.fullmatch(month):
        return False
    name = partition_name(month)
    if partition_exists(cur, month) and not is_attached(cur, month):
        cur.execute(f"DROP TABLE {name}")  # the partition-to-be of an attempt killed while loading it
    elif partition_exists(cur, month):
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {name} WHERE run_id <> {int(run_id)})")
        if cur.fetchone()[0]:
            return False
        cur.execute(f"DELETE FROM {GUARD} WHERE month = '{month}'")
        cur.execute(f"DROP TABLE {name}")
    cur.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE month = '{month}')")
    return not cur.fetchone()[0]


def create_staging(cur: Any, month: str) -> str:
    """The month's partition-to-be: a standalone table shaped as the parent, no index yet (committed
    by the caller, so that several connections can load it)."""
    name = partition_name(month)
    cur.execute(
        f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
        f"CONSTRAINT {name}_month CHECK (month = '{month}')) WITH (fillfactor = {FILLFACTOR})"
    )
    return name


def build_indexes(month: str, lanes: int = 2) -> None:
    """The loaded table's keys and indexes, each built once (a sort of the month's lines), by `lanes`
    connections at once, each index on one core, instead of PostgreSQL's parallel build of one
    index at a time (which splits each sort into runs the leader merges alone: at 1M households 23.1 s
    of server CPU against 22.4 s for the same six, docs/scale.md). Each index is committed as it is built — the table is still seen by no query; the keys become constraints in
    `attach`. A build killed half-way leaves a table the next attempt drops (`fresh_partition`)."""
    from doudi.verification.dataio import adbc_connection, in_threads

    name = partition_name(month)
    statements = [
        (BUILD_COST.get(index, 1.5), f"CREATE UNIQUE INDEX {name}_{_short(index)} ON {name} {columns}")
        for index, _kind, columns in CONSTRAINTS
    ] + [
        (BUILD_COST.get(index, 1.5), f"CREATE INDEX {name}_{_short(index)} ON {name} {columns} {where}")
        for index, columns, where in INDEXES
    ]
    waiting = [sql for _cost, sql in sorted(statements, key=lambda s: -s[0])]
    errors: list[BaseException] = []
    lock = threading.Lock()

    def lane() -> None:
        with adbc_connection() as con:
            with con.cursor() as cur:
                cur.execute("SET max_parallel_maintenance_workers = 0")
                cur.execute("SET maintenance_work_mem = '256MB'")
                while not errors:
                    with lock:
                        if not waiting:
                            return
                        sql = waiting.pop(0)
                    cur.execute(sql)
                    con.commit()

    in_threads([(lane, ()) for _ in range(lanes)], errors)


def attach(cur: Any, month: str, one_off_keys: Iterable[tuple[int, str]]) -> None:
    """The built unique indexes made the table's keys, the table attached as the month's partition
    (the parent's indexes adopt the table's, its CHECK spares the scan), its one-off keys recorded."""
    name = partition_name(month)
    for index, kind, _columns in CONSTRAINTS:
        built = f"{name}_{_short(index)}"
        cur.execute(f"ALTER TABLE {name} ADD CONSTRAINT {built} {kind} USING INDEX {built}")
    cur.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} FOR VALUES IN ('{month}')")
    cur.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_month")
    keys = [(int(b), str(s)) for b, s in one_off_keys]
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        values = ", ".join(f"({b}, '{s}', '{month}')" for b, s in chunk if s in ONE_OFF)
        if values:
            cur.execute(f"INSERT INTO {GUARD} (beneficiary_id, scheme, month) VALUES {values}")


def _keys_and_indexes(cur: Any, table: str, named: Callable[[str], str]) -> None:
    """The parent's unique keys and indexes on `table`, each called `named(the parent's name)`."""
    for index, kind, columns in CONSTRAINTS:
        cur.execute(f"ALTER TABLE {table} ADD CONSTRAINT {named(index)} {kind} {columns}")
    for index, columns, where in INDEXES:
        cur.execute(f"CREATE INDEX {named(index)} ON {table} {columns} {where}")


def _short(index: str) -> str:
    return {
        "payments_paymentline_pkey": "pkey",
        "one_payment_per_month": "key",
        "one_payment_line_per_ref": "ref",
        "payments_pa_run_id_542ada_idx": "run",
        "payments_pa_issue_r_41e8a1_idx": "issue",
        "payment_line_reissuable": "reissuable",
    }[index]
