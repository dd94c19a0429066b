"""A bureau upgrading with an existing (unkeyed) log: migration 0003 re-keys it and marks the epoch, so the
old log keeps verifying; a log that was already broken stops the migration with the reason."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from doudi.audit.guards import remove_guard
from doudi.audit.models import AuditEntry
from doudi.audit.services import record, verify_chain

BEFORE = [("audit", "0002_append_only_triggers")]


def _legacy_hash(prev, at, label, action, otype, oid, region, before, after, reason):
    body = json.dumps(
        [prev, at.isoformat(), label, action, otype, oid, region, before, after, reason],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


def _latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.fixture
def legacy_log(transactional_db):
    """The audit tables as the previous release left them, with an unkeyed chain of three entries."""
    executor = _migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Entry, Head = apps.get_model("audit", "AuditEntry"), apps.get_model("audit", "AuditHead")
    prev = "0" * 64
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    for i in range(3):
        fields = dict(
            at=start + timedelta(minutes=i),
            actor_label="clerk",
            action="update",
            object_type="registry.person",
            object_id=str(i),
            region_path="500101",
            before={"phone": "1"},
            after={"phone": "2"},
            reason="核实",
        )
        digest = _legacy_hash(prev, *fields.values())
        Entry.objects.create(prev_hash=prev, hash=digest, **fields)
        prev = digest
    Head.objects.create(id=1, count=3, last_hash=prev)
    yield
    _migrate(_latest())  # whatever happened, the next test gets today's schema


def test_an_intact_legacy_log_is_rekeyed_and_the_epoch_marked(legacy_log):
    _migrate(_latest())
    result = verify_chain()
    assert result.ok and result.checked == 4
    epoch = AuditEntry.objects.get(seq=4)
    assert (epoch.object_type, epoch.object_id) == ("audit.chain", "rekey")
    assert epoch.before["entries"] == 3 and epoch.after == {"algorithm": "hmac-sha256", "problems": []}
    assert [e.object_id for e in AuditEntry.objects.order_by("seq")[:3]] == ["0", "1", "2"]
    record(actor=None, action="action", object_type="test", object_id="after")
    assert verify_chain().ok


def test_a_broken_legacy_log_stops_the_migration_with_the_reason(legacy_log, monkeypatch):
    remove_guard(connection)  # whatever guards the old schema still has
    with connection.cursor() as c:
        c.execute("UPDATE audit_auditentry SET reason = 'covered up' WHERE object_id = '1'")
    with pytest.raises(
        RuntimeError, match="does not verify under the old chain .*DOUDI_AUDIT_REKEY_BROKEN=1"
    ):
        _migrate(_latest())
    monkeypatch.setenv("DOUDI_AUDIT_REKEY_BROKEN", "1")
    _migrate(_latest())
    epoch = AuditEntry.objects.get(object_type="audit.chain")
    assert epoch.after["problems"] == [f"entry {AuditEntry.objects.get(object_id='1').id}"]
    assert verify_chain().ok  # re-keyed as it stood, the problem written into the log itself
