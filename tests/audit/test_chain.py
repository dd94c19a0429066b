import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from doudi.audit.guards import remove_guard
from doudi.audit.models import AuditEntry
from doudi.audit.services import record, verify_chain


def _append(n):
    for i in range(n):
        record(actor=None, action="action", object_type="test", object_id=str(i), after={"i": i})


def _drop_guard():
    """An attacker with database rights: remove the append-only trigger first."""
    remove_guard(connection)


@pytest.mark.django_db(transaction=True)
def test_intact_chain_verifies():
    _append(5)
    result = verify_chain()
    assert result.ok and result.checked == 5 and result.problems == []


@pytest.mark.django_db(transaction=True)
def test_database_refuses_update_and_delete():
    _append(2)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
        c.execute("UPDATE audit_auditentry SET reason = 'x'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
        c.execute("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.count() == 2
    with pytest.raises(PermissionError):
        AuditEntry.objects.first().save()


@pytest.mark.django_db(transaction=True)
def test_edited_entry_is_detected():
    _append(4)
    _drop_guard()
    with connection.cursor() as c:
        c.execute("UPDATE audit_auditentry SET reason = 'covered up' WHERE object_id = '2'")
    result = verify_chain()
    assert not result.ok
    assert any("edited" in p for p in result.problems)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("which", ["middle", "last"])
def test_deleted_entry_is_detected(which):
    _append(4)
    _drop_guard()
    target = "1" if which == "middle" else "3"
    with connection.cursor() as c:
        c.execute("DELETE FROM audit_auditentry WHERE object_id = %s", [target])
    result = verify_chain()
    assert not result.ok and result.checked == 3


def test_unique_hash_guard(db):
    _append(1)
    e = AuditEntry.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.create(
            at=e.at,
            actor_label="x",
            action="read",
            object_type="t",
            object_id="1",
            prev_hash=e.hash,
            hash=e.hash,
        )


def test_verify_command_reports_intact_and_broken(db, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    _append(3)
    call_command("audit", "verify")
    assert "3 entries verified" in capsys.readouterr().out
    _drop_guard()
    with connection.cursor() as c:
        c.execute("UPDATE audit_auditentry SET actor_label = 'someone else' WHERE object_id = '0'")
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("audit", "verify")
