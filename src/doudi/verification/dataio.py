"""Bulk reads and writes between the database and Arrow, for the monthly re-check.

PostgreSQL goes through ADBC (`adbc-driver-postgresql`): columns arrive as Arrow without a Python
object per row, and rows are written with binary COPY (`adbc_ingest`). DESIGN.md measured this at
2.5 s / 0.3 GB for 2.5M persons against 6.6 s / 1.5 GB row by row. Any other database (the embedded
SQLite) goes through Django's own connection in chunks, which is plenty for its sizes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from urllib.parse import quote

import pyarrow as pa
from django.db import connection, transaction

# Columns read for the re-check. Money in fen, dates as dates, strings as strings.
HOUSEHOLD_SQL = """
SELECT h.id AS household_id, h.region_id AS region_id, h.area_type AS area_type,
       h.dibao_last_amount AS last_amount, h.deposits_fen AS deposits_fen,
       h.vehicles AS vehicles, h.houses AS houses
FROM registry_household h
WHERE h.dibao_enrolled
"""

# Current members of recipient households (numbers only), and the people themselves with only what
# R1 reads (the re-check evaluates dibao alone). Two plain reads joined in numpy beat one three-table
# join in PostgreSQL (DESIGN.md: 1.7 s against 2.5 s for 2.5M persons).
MEMBERSHIP_SQL = """
SELECT m.household_id AS household_id, m.person_id AS person_id
FROM registry_membership m JOIN registry_household h ON h.id = m.household_id
WHERE m.left_on IS NULL AND h.dibao_enrolled
"""
PERSON_SQL = """
SELECT id AS person_id, id_number, name, income_wage_fen, income_business_fen, income_agricultural_fen,
       income_property_fen, income_transfer_fen, work
FROM registry_person
"""


# Villages with their district (the level-2 node of the path: a functional zone's streets keep their
# host district's GB code, so the code's first 6 digits are not always the district).
VILLAGE_SQL = "SELECT code, path FROM regions_region WHERE level = 4"


def consent_sql(day: date) -> str:
    d = day.isoformat()
    return (
        "SELECT DISTINCT household_id FROM verification_consent "
        f"WHERE signed_on <= '{d}' AND (valid_until IS NULL OR valid_until >= '{d}') "
        f"AND (revoked_on IS NULL OR revoked_on > '{d}')"
    )


def category_sql(first: date, last: date) -> str:
    return (
        "SELECT person_id, category FROM registry_personcategory "
        "WHERE category IN ('tekun', 'orphan', 'de_facto_unsupported_child', 'hardship_child', "
        f"'registered_poor') AND valid_from <= '{last.isoformat()}' "
        f"AND (valid_to IS NULL OR valid_to >= '{first.isoformat()}')"
    )


HOUSEHOLD_SCHEMA = pa.schema(
    [
        ("household_id", pa.int64()),
        ("region_id", pa.string()),
        ("area_type", pa.string()),
        ("last_amount", pa.int64()),
        ("deposits_fen", pa.int64()),
        ("vehicles", pa.int64()),
        ("houses", pa.int64()),
    ]
)
MEMBERSHIP_SCHEMA = pa.schema([("household_id", pa.int64()), ("person_id", pa.int64())])
PERSON_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("income_wage_fen", pa.int64()),
        ("income_business_fen", pa.int64()),
        ("income_agricultural_fen", pa.int64()),
        ("income_property_fen", pa.int64()),
        ("income_transfer_fen", pa.int64()),
        ("work", pa.string()),
    ]
)
VILLAGE_SCHEMA = pa.schema([("code", pa.string()), ("path", pa.string())])
CONSENT_SCHEMA = pa.schema([("household_id", pa.int64())])
CATEGORY_SCHEMA = pa.schema([("person_id", pa.int64()), ("category", pa.string())])


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _adbc_uri() -> str:
    s = connection.settings_dict
    auth = quote(s.get("USER") or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "localhost"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}{'@' if auth else ''}{host}{port}/{quote(s['NAME'], safe='')}"


@contextlib.contextmanager
def adbc_connection() -> Iterator:
    import adbc_driver_postgresql.dbapi as adbc

    con = adbc.connect(_adbc_uri())
    try:
        yield con
    finally:
        con.close()


def _adbc_read(sql: str, schema: pa.Schema) -> pa.Table:
    with adbc_connection() as con, con.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    # One chunk per column: ADBC hands over many small batches, and take/index over thousands of
    # chunks is what made the first 1M-household run spend 18 s preparing.
    return table.select(schema.names).cast(schema).combine_chunks()


def _django_read(sql: str, schema: pa.Schema, chunk: int = 50_000) -> pa.Table:
    batches = []
    with connection.cursor() as cur:
        cur.execute(sql)
        while rows := cur.fetchmany(chunk):
            columns = list(zip(*rows, strict=True))
            arrays = []
            for f, values in zip(schema, columns, strict=True):
                if pa.types.is_date32(f.type):
                    values = [date.fromisoformat(v) if isinstance(v, str) else v for v in values]
                arrays.append(pa.array(values, f.type))
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def read_tables(queries: dict[str, tuple[str, pa.Schema]]) -> dict[str, pa.Table]:
    """Run the named queries and return Arrow tables. On PostgreSQL they run concurrently, one ADBC
    connection each, so the server works on both cores while the client waits."""
    if not is_postgres():
        return {name: _django_read(sql, schema) for name, (sql, schema) in queries.items()}
    results: dict[str, pa.Table] = {}

    def work(name: str, sql: str, schema: pa.Schema) -> None:
        results[name] = _adbc_read(sql, schema)

    in_threads([(work, (n, q, s)) for n, (q, s) in queries.items()])
    return results


def in_threads(
    calls: list[tuple[Callable[..., None], tuple]], errors: list[BaseException] | None = None
) -> None:
    """Run each `(function, args)` in a thread of its own, wait for all, re-raise the first error in
    the caller's thread. `errors` (optional) is the list they are gathered in, for a function that
    stops early once another failed."""
    errors = [] if errors is None else errors

    def run(function: Callable[..., None], args: tuple) -> None:
        try:
            function(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def read_consistent(queries: dict[str, tuple[str, pa.Schema]], lanes: int = 2) -> dict[str, pa.Table]:
    """The named queries read as of one moment (a payroll's frozen inputs must agree with each other).

    PostgreSQL: one REPEATABLE READ transaction exports its snapshot and `lanes` ADBC connections read
    in parallel, each in a transaction that imports that snapshot (SET TRANSACTION SNAPSHOT): every
    query sees the same moment, and the server works on both cores. SQLite: one transaction."""
    if not is_postgres():
        with transaction.atomic():
            return {name: _django_read(sql, schema) for name, (sql, schema) in queries.items()}
    results: dict[str, pa.Table] = {}
    errors: list[BaseException] = []
    waiting = list(queries.items())
    lock = threading.Lock()

    def read(cur) -> None:
        # Joins of millions of rows: hashed in memory (the 4 MB default spills them to disk in
        # batches, which also loses the outer side's order), and no JIT compiling for one pass.
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SET LOCAL jit = off")
        while not errors:
            with lock:
                if not waiting:
                    return
                name, (sql, schema) = waiting.pop(0)
            cur.execute(sql)
            results[name] = cur.fetch_arrow_table().select(schema.names).cast(schema).combine_chunks()

    def lane(snapshot: str | None, cur=None) -> None:
        if cur is not None:  # the exporting transaction itself
            return read(cur)
        with adbc_connection() as con, con.cursor() as other:
            other.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            other.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            read(other)
            con.rollback()

    with adbc_connection() as con, con.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = str(cur.fetchone()[0])
        # The snapshot is exported only while this transaction lives: it waits for every lane.
        in_threads([(lane, (None, cur))] + [(lane, (snapshot,))] * (max(lanes, 1) - 1), errors)
        con.rollback()
    return {name: results[name] for name in queries}


class BulkWriter:
    """One transaction of set-based writes (see `bulk_writer`): Arrow tables appended or loaded into
    temporary tables, then SQL statements over them. No parameters: values reach the SQL through the
    ingested tables (a one-row table for constants), never by string formatting of text."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cur, self.postgres = cursor, postgres
        self._temporary: list[str] = []

    def ingest(self, table: str, data: pa.Table, *, temporary: bool = False) -> None:
        """Append `data` (columns named as the database columns) to `table`; `temporary`: create the
        temporary table `table` from the data's columns first (dropped at the end)."""
        if self.postgres:
            if temporary or data.num_rows:
                self._cur.adbc_ingest(
                    table, data, mode="create" if temporary else "append", temporary=temporary
                )
            return
        names = data.column_names
        if temporary:
            self._cur.execute(f"CREATE TEMP TABLE {table} ({', '.join(names)})")
            self._temporary.append(table)
        if not data.num_rows:
            return
        ops = connection.ops
        adapt = {
            f.name: ops.adapt_datetimefield_value
            if pa.types.is_timestamp(f.type)
            else ops.adapt_datefield_value
            for f in data.schema
            if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)
        }
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
        for batch in data.to_batches(max_chunksize=20_000):
            columns = []
            for name, column in zip(names, batch.columns, strict=True):
                values = column.to_pylist()
                if name in adapt:
                    values = [None if v is None else adapt[name](v) for v in values]
                columns.append(values)
            self._cur.executemany(sql, list(zip(*columns, strict=True)))

    def execute(self, sql: str) -> int:
        """Run one statement; the number of rows it changed."""
        self._cur.execute(sql)
        return self._cur.rowcount

    def _drop_temporary(self) -> None:
        for table in self._temporary:
            self._cur.execute(f"DROP TABLE {table}")


@contextlib.contextmanager
def bulk_writer() -> Iterator[BulkWriter]:
    """Writes in one transaction, committed when the block ends without error. PostgreSQL: an ADBC
    connection of its own (appends are binary COPY; temporary tables live with the connection);
    otherwise Django's connection inside `transaction.atomic` (executemany)."""
    if is_postgres():
        with adbc_connection() as con:
            with con.cursor() as cur:
                yield BulkWriter(cur, True)
            con.commit()
        return
    with transaction.atomic(), connection.cursor() as cur:
        writer = BulkWriter(cur, False)
        try:
            yield writer
        finally:
            writer._drop_temporary()


def replace_rows(deletes: list[tuple[str, str, int]], inserts: list[tuple[str, pa.Table]]) -> None:
    """In one transaction: delete the rows `column = value` from each table, then append the Arrow
    tables (columns named as the database columns). PostgreSQL: binary COPY through ADBC."""
    with bulk_writer() as w:
        for table, column, value in deletes:
            w.execute(f"DELETE FROM {table} WHERE {column} = {int(value)}")
        for table, data in inserts:
            w.ingest(table, data)
