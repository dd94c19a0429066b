"""Audit entries partitioned by month on PostgreSQL (audit/partitions.py, docs/scale.md): a month-bounded
query reads that month's partition alone, the migration keeps every entry both ways, the chain and its
guards hold on every partition, and a month written before its partition existed is moved into it."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from doudi.audit import partitions
from doudi.audit.models import AuditEntry
from doudi.audit.services import record, verify_chain
from doudi.supervision import audit_review

BEIJING = ZoneInfo("Asia/Shanghai")
OCTOBER, NOVEMBER = datetime.date(2026, 10, 1), datetime.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(reason="needs PostgreSQL: the partitioning is PostgreSQL's (SQLite keeps one table)")


def _append_at(monkeypatch, moment: datetime.datetime, n: int = 1) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)
    for i in range(n):
        record(
            actor=None, action="action", object_type="test", object_id=f"{moment:%Y%m}-{i}", region_path="R"
        )
    monkeypatch.undo()


@pytest.fixture
def months(db, monkeypatch):
    """Entries of October and November 2026 (Beijing time: 1 November 00:30 there is still 31 October in
    UTC) and one of now."""
    _append_at(monkeypatch, datetime.datetime(2026, 10, 3, 9, tzinfo=BEIJING), 3)
    _append_at(monkeypatch, datetime.datetime(2026, 11, 1, 0, 30, tzinfo=BEIJING), 2)
    record(actor=None, action="action", object_type="test", object_id="now")
    assert verify_chain().ok
    with connection.cursor() as c:  # the foreign keys' checks now, not at a commit that never comes
        c.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _held() -> dict[str, str]:
    with connection.cursor() as c:
        return partitions.partitions(c)


def _rows(table: str) -> int:
    with connection.cursor() as c:
        c.execute(f"SELECT count(*) FROM {table}")
        return c.fetchone()[0]


def _checksum() -> tuple[int, str]:
    """Entry count and an MD5 over every column of every entry, in sequence order."""
    with connection.cursor() as c:
        c.execute(
            "SELECT count(*), md5(COALESCE(string_agg(t::text, '|' ORDER BY t.seq), '')) FROM audit_auditentry t"
        )
        return c.fetchone()


def _refused(sql: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
        c.execute(sql)


def test_the_migration_keeps_every_entry_both_ways_and_gives_each_month_its_partition(months):
    before = _checksum()
    assert before[0] == 6
    this_month = partitions.partition_name(partitions.month_of(timezone.now()))
    try:
        call_command("migrate", "audit", "0005", verbosity=0)
        with connection.cursor() as c:
            assert not partitions.is_partitioned(c)
        assert _checksum() == before
        assert verify_chain().ok
        call_command("migrate", "audit", verbosity=0)
    finally:
        call_command("migrate", "audit", verbosity=0)
    with connection.cursor() as c:
        assert partitions.is_partitioned(c)
    assert _checksum() == before
    held = _held()
    assert {"audit_auditentry_p202610", "audit_auditentry_p202611", this_month, partitions.DEFAULT} <= set(
        held
    )
    assert len(held) >= 2 + partitions.AHEAD + 2  # the two months of the data, this month and AHEAD after it
    # Each entry in its Beijing month: 1 November 00:30 is November's, though still 31 October in UTC.
    assert _rows("audit_auditentry_p202610") == 3
    assert _rows("audit_auditentry_p202611") == 2
    assert _rows(this_month) == 1 and _rows(partitions.DEFAULT) == 0
    assert held["audit_auditentry_p202611"] == (
        "FOR VALUES FROM ('2026-10-31 16:00:00+00') TO ('2026-11-30 16:00:00+00')"
    )
    # The chain verifies, every guard is in place, and the log goes on with the next number and id.
    assert verify_chain().ok
    last = AuditEntry.objects.order_by("seq").last()
    entry = record(actor=None, action="action", object_type="test", object_id="after")
    assert (entry.seq, entry.id > last.id) == (7, True)
    assert verify_chain().ok


def test_a_month_bounded_query_reads_only_that_months_partition(months, regions, make_user):
    """The audit review's search for November (its keyset page, newest first) reads November's
    partition alone."""
    with connection.cursor() as c:
        partitions.ensure_months(c, [OCTOBER, NOVEMBER])
    auditor = make_user("auditor", regions.city, "auditor")
    q = audit_review.AuditQuery(date_from=datetime.date(2026, 11, 1), date_to=datetime.date(2026, 11, 30))
    qs = audit_review.filtered(auditor, q).order_by("-seq")[: audit_review.PAGE_SIZE + 1]
    plan = qs.explain()
    assert "audit_auditentry_p202611" in plan
    assert "audit_auditentry_p202610" not in plan and partitions.DEFAULT not in plan
    assert [e.object_id for e in qs] == ["202611-1", "202611-0"]


def test_a_month_written_before_its_partition_existed_is_moved_into_it(months):
    # October and November have no partition in the test database: their entries are in the default.
    assert "audit_auditentry_p202610" not in _held()
    assert _rows(partitions.DEFAULT) == 5
    before = _checksum()
    with connection.cursor() as c:
        created = partitions.ensure_months(c, [OCTOBER, NOVEMBER])
    assert created == ["audit_auditentry_p202610", "audit_auditentry_p202611"]
    assert (_rows("audit_auditentry_p202610"), _rows("audit_auditentry_p202611")) == (3, 2)
    assert _rows(partitions.DEFAULT) == 0
    assert _checksum() == before
    result = verify_chain()
    assert result.ok, result.problems  # the new partitions carry every guard
    _refused("TRUNCATE audit_auditentry_p202610")
    with connection.cursor() as c:
        assert partitions.ensure_months(c, [OCTOBER]) == []


def test_the_guards_refuse_changes_through_the_parent_and_on_each_partition(months):
    this_month = partitions.partition_name(partitions.month_of(timezone.now()))
    _refused("UPDATE audit_auditentry SET reason = 'covered up' WHERE seq = 6")
    _refused("DELETE FROM audit_auditentry WHERE seq = 6")
    _refused(f"UPDATE {this_month} SET reason = 'covered up'")
    _refused(f"DELETE FROM {partitions.DEFAULT}")
    _refused("TRUNCATE audit_auditentry")
    _refused(f"TRUNCATE {this_month}")
    _refused(f"TRUNCATE {partitions.DEFAULT}")
    # seq stays unique across months without a unique index: the insert guard allows only the next one.
    e = AuditEntry.objects.get(seq=6)
    with pytest.raises(DatabaseError, match="in sequence"), transaction.atomic(), connection.cursor() as c:
        c.execute(
            "INSERT INTO audit_auditentry (at, actor_label, action, object_type, object_id, region_path, reason, "
            "prev_hash, hash, seq) VALUES (now() - interval '400 days', 'x', 'action', 't', '1', '', '', %s, %s, 6)",
            [e.prev_hash, e.hash],
        )
    assert verify_chain().ok


def test_a_partitions_guard_disarmed_or_dropped_is_reported(months):
    this_month = partitions.partition_name(partitions.month_of(timezone.now()))
    with connection.cursor() as c:
        c.execute(f"ALTER TABLE {this_month} DISABLE TRIGGER audit_entry_no_change")
        c.execute(f"DROP TRIGGER audit_entry_no_truncate ON {partitions.DEFAULT}")
    problems = verify_chain().problems
    assert f"database guard audit_entry_no_change is disabled on {this_month}" in problems
    assert f"database guard audit_entry_no_truncate is missing on {partitions.DEFAULT} (dropped)" in problems
