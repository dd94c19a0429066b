"""The audit chain against someone with write access to the database (but not to the audit key or the
supervisor's checkpoints). Each attack restores the guards afterwards, as a careful attacker would, so
what catches it is the keyed chain or a checkpoint — dropping a guard is caught on its own."""

import hashlib
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction

from doudi.audit import guards
from doudi.audit.chain import GENESIS
from doudi.audit.guards import install_guard, remove_guard
from doudi.audit.models import AuditEntry, AuditHead
from doudi.audit.services import checkpoint, record, verify_chain


@pytest.fixture(autouse=True)
def _checkpoint_dir(settings, tmp_path):
    settings.DOUDI_AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"
    return settings.DOUDI_AUDIT_CHECKPOINT_DIR


def _append(n, actor=None):
    for i in range(n):
        record(actor=actor, action="action", object_type="test", object_id=str(i), after={"i": i})


def _sql(*statements):
    with connection.cursor() as c:
        for sql, *params in statements:
            c.execute(sql, params)


def _tamper(*statements):
    """Lift the guards, change the tables, put the guards back."""
    remove_guard(connection)
    _sql(*statements)
    install_guard(connection)


def _unkeyed_rechain():
    """What an attacker without the key can do after an edit: recompute the plain SHA-256 chain (the old
    algorithm) and move the tip to match."""
    prev = GENESIS
    for e in AuditEntry.objects.order_by("seq"):
        body = [prev, e.seq, e.at.isoformat(), e.actor_id, e.actor_label, e.action, e.object_type]
        body += [e.object_id, e.region_path, e.before, e.after, e.reason]
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
        _sql(("UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE id = %s", prev, digest, e.id))
        prev = digest
    _sql(("UPDATE audit_audithead SET last_hash = %s", prev))


def _problems():
    result = verify_chain()
    assert not result.ok
    return " | ".join(result.problems)


@pytest.mark.django_db(transaction=True)
def test_intact_chain_verifies():
    _append(5)
    result = verify_chain()
    assert result.ok and result.checked == 5 and result.problems == []
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == [1, 2, 3, 4, 5]


@pytest.mark.django_db(transaction=True)
def test_database_refuses_update_delete_truncate_and_out_of_sequence_insert():
    _append(2)
    e = AuditEntry.objects.first()
    attempts = [
        "UPDATE audit_auditentry SET reason = 'x'",
        "DELETE FROM audit_auditentry",
        # a second entry number 1 (on SQLite INSERT OR REPLACE would also delete the first without a trigger)
        f"INSERT INTO audit_auditentry (seq, at, actor_label, action, object_type, object_id, region_path, "
        f"reason, prev_hash, hash) VALUES (1, '{e.at.isoformat()}', 'x', 'read', 't', '1', '', '', '{GENESIS}', 'f')",
    ]
    if connection.vendor == "postgresql":
        attempts.append("TRUNCATE audit_auditentry CASCADE")
    for sql in attempts:
        with pytest.raises(DatabaseError), transaction.atomic():
            _sql((sql,))
    assert AuditEntry.objects.count() == 2
    with pytest.raises(PermissionError):
        e.save()


@pytest.mark.django_db(transaction=True)
def test_database_refuses_to_move_the_tip_back_or_delete_it():
    _append(3)
    second = AuditEntry.objects.get(seq=2)
    replace = (
        "INSERT OR REPLACE INTO audit_audithead (id, count, last_hash) VALUES (1, %s, %s)"
        if connection.vendor == "sqlite"
        else "INSERT INTO audit_audithead (id, count, last_hash) VALUES (1, %s, %s) "
        "ON CONFLICT (id) DO UPDATE SET count = EXCLUDED.count, last_hash = EXCLUDED.last_hash"
    )
    attempts = [
        ("UPDATE audit_audithead SET count = 2, last_hash = %s", second.hash),
        ("UPDATE audit_audithead SET count = count + 1",),  # forward, but to no entry
        ("DELETE FROM audit_audithead",),
        (replace, 2, second.hash),
    ]
    if connection.vendor == "postgresql":
        attempts.append(("TRUNCATE audit_audithead",))
    for attempt in attempts:
        with pytest.raises(DatabaseError), transaction.atomic():
            _sql(attempt)
    assert AuditHead.objects.get().count == 3
    _append(1)  # the legitimate move forward still works
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_edited_entry_is_detected():
    _append(4)
    _tamper(("UPDATE audit_auditentry SET reason = 'covered up' WHERE object_id = '2'",))
    assert "entry 3: content does not match its hash (edited)" in _problems()


@pytest.mark.django_db(transaction=True)
def test_edit_with_the_chain_recomputed_without_the_key_is_detected():
    _append(4)
    remove_guard(connection)
    _sql(("UPDATE audit_auditentry SET reason = 'covered up' WHERE object_id = '2'",))
    _unkeyed_rechain()
    install_guard(connection)
    problems = _problems()
    assert all(f"entry {n}: content does not match its hash" in problems for n in (1, 2, 3, 4))


@pytest.mark.django_db(transaction=True)
def test_edit_with_the_chain_recomputed_under_another_key_is_detected(settings):
    _append(3)
    settings.DOUDI_AUDIT_KEY = "ab" * 32  # the attacker's own key
    expected = [AuditEntry.objects.get(seq=n) for n in (1, 2, 3)]
    remove_guard(connection)
    from doudi.audit.chain import entry_hash

    prev = GENESIS
    for e in expected:
        e.prev_hash, e.reason = prev, "rewritten"
        e.hash = entry_hash(bytes.fromhex(settings.DOUDI_AUDIT_KEY), e)
        _sql(
            (
                "UPDATE audit_auditentry SET reason = %s, prev_hash = %s, hash = %s WHERE id = %s",
                e.reason,
                prev,
                e.hash,
                e.id,
            )
        )
        prev = e.hash
    _sql(("UPDATE audit_audithead SET last_hash = %s", prev))
    install_guard(connection)
    settings.DOUDI_AUDIT_KEY = ""
    assert "entry 1: content does not match its hash (edited)" in _problems()


@pytest.mark.django_db(transaction=True)
def test_changed_actor_is_detected(make_user, regions):
    alice = make_user("alice", regions.a)
    bob = make_user("bob", regions.a)
    _append(2, actor=alice)
    _tamper(("UPDATE audit_auditentry SET actor_id = %s WHERE seq = 2", bob.pk))
    assert verify_chain().problems == ["entry 2: content does not match its hash (edited)"]


@pytest.mark.django_db(transaction=True)
def test_deleted_entry_in_the_middle_is_detected():
    _append(4)
    _tamper(("DELETE FROM audit_auditentry WHERE seq = 2",))
    result = verify_chain()
    assert not result.ok and result.checked == 3
    assert "entry 3: expected entry 2 here (entries missing before it)" in result.problems


@pytest.mark.django_db(transaction=True)
def test_deleted_last_entry_with_the_tip_moved_back_is_caught_by_a_checkpoint(_checkpoint_dir):
    _append(3)
    _, written = checkpoint()
    assert written.parent == _checkpoint_dir and json.loads(written.read_text())["seq"] == 3
    second = AuditEntry.objects.get(seq=2)
    _tamper(
        ("DELETE FROM audit_auditentry WHERE seq = 3",),
        ("UPDATE audit_audithead SET count = 2, last_hash = %s", second.hash),
    )
    result = verify_chain()
    assert not result.ok and result.checked == 2
    assert result.problems == [
        f"checkpoint {written}: the log held 3 entries at {json.loads(written.read_text())['at']} but now holds 2 "
        "(entries removed from the end)"
    ]


@pytest.mark.django_db(transaction=True)
def test_deleted_last_entry_with_the_guards_left_off_is_caught_without_checkpoints():
    _append(3)
    second = AuditEntry.objects.get(seq=2)
    remove_guard(connection)
    _sql(
        ("DELETE FROM audit_auditentry WHERE seq = 3",),
        ("UPDATE audit_audithead SET count = 2, last_hash = %s", second.hash),
    )
    assert "database guard" in _problems()


def _guard_names():
    return list(guards.POSTGRES_TRIGGERS if connection.vendor == "postgresql" else guards.SQLITE_TRIGGERS)


@pytest.mark.django_db(transaction=True)
def test_every_dropped_guard_is_reported():
    _append(2)
    assert verify_chain().ok
    for name in _guard_names():
        table = dict(guards.POSTGRES_TRIGGERS).get(name, ("",))[0]
        _sql((f"DROP TRIGGER {name}" + (f" ON {table}" if connection.vendor == "postgresql" else ""),))
        assert f"database guard {name} is missing (dropped)" in verify_chain().problems
        install_guard(connection)
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_a_guard_disarmed_in_place_is_reported():
    _append(1)
    if connection.vendor == "postgresql":
        _sql(("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_no_change",))
        assert "database guard audit_entry_no_change is disabled" in verify_chain().problems
        install_guard(connection)
        _sql(
            (
                "CREATE OR REPLACE FUNCTION audit_head_guard() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RETURN NEW; END $$",
            ),
        )
        assert "database guard audit_head_guard was altered" in verify_chain().problems
    else:
        _sql(
            ("DROP TRIGGER audit_entry_no_update",),
            ("CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry BEGIN SELECT 1; END",),
        )
        assert verify_chain().problems == ["database guard audit_entry_no_update was altered"]


def test_unique_hash_guard(db):
    _append(1)
    e = AuditEntry.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.create(
            seq=2,
            at=e.at,
            actor_label="x",
            action="read",
            object_type="t",
            object_id="1",
            prev_hash=e.hash,
            hash=e.hash,
        )


def test_verify_command_reports_intact_and_broken(db, capsys, _checkpoint_dir):
    _append(3)
    call_command("audit", "checkpoint")
    assert "checkpoint written" in capsys.readouterr().out
    call_command("audit", "verify")
    assert "3 entries verified, 1 checkpoint(s) agree" in capsys.readouterr().out
    _tamper(("UPDATE audit_auditentry SET actor_label = 'someone else' WHERE object_id = '0'",))
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("audit", "verify")
    with pytest.raises(CommandError, match="BROKEN"):  # a broken chain gets no checkpoint
        call_command("audit", "checkpoint", "--out", str(_checkpoint_dir / "more"))
    assert not (_checkpoint_dir / "more").exists()
