"""Staff reads written without the chain's lock (audit/pending.py): committed at once, chained after the
response, and never lost on the way — the database refuses to change or drop a pending read that is not
yet in the chain, and verify reports a guard that was taken away."""

import pytest
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, IntegrityError, connection, transaction

from doudi.audit import pending
from doudi.audit.guards import install_guard, remove_guard
from doudi.audit.models import AuditAction, AuditEntry, PendingEntry
from doudi.audit.services import record_read, verify_chain


@pytest.fixture(autouse=True)
def _checkpoint_dir(settings, tmp_path):
    settings.DOUDI_AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"


def _read_in_request(user):
    """What a page does: a read inside a request, before the response is finished."""
    request_started.send(sender=None)
    record_read(actor=user, obj=user, reason="查阅")


@pytest.mark.django_db(transaction=True)
def test_a_read_in_a_request_is_pending_until_the_response_then_chained_and_verified(make_user, regions):
    user = make_user("reader", regions.a)
    _read_in_request(user)
    row = PendingEntry.objects.get()
    assert row.action == AuditAction.READ and row.actor_id == user.pk and row.object_id == str(user.pk)
    assert not AuditEntry.objects.filter(action=AuditAction.READ).exists()
    request_finished.send(sender=None)
    entry = AuditEntry.objects.get(action=AuditAction.READ)
    assert (entry.at, entry.actor_id, entry.reason, entry.region_path) == (
        row.at,
        user.pk,
        "查阅",
        row.region_path,
    )
    assert not PendingEntry.objects.exists()
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
def test_outside_a_request_a_read_is_chained_at_once(make_user, regions):
    user = make_user("reader", regions.a)
    record_read(actor=user, obj=user)
    assert AuditEntry.objects.filter(action=AuditAction.READ).count() == 1
    assert not PendingEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_verify_chains_what_is_pending_and_the_readers_see_it(make_user, regions):
    user = make_user("reader", regions.a)
    for _ in range(3):
        _read_in_request(user)
    pending._in_request.set(False)  # the responses never finished (a chainer gave way)
    assert PendingEntry.objects.count() == 3
    result = verify_chain()
    assert result.ok and result.checked == AuditEntry.objects.count()
    assert AuditEntry.objects.filter(action=AuditAction.READ).count() == 3


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_to_change_or_drop_a_pending_read(make_user, regions):
    user = make_user("reader", regions.a)
    _read_in_request(user)
    pending._in_request.set(False)
    for sql in (
        "UPDATE audit_pendingentry SET reason = 'x'",
        "DELETE FROM audit_pendingentry",
        *(["TRUNCATE audit_pendingentry"] if connection.vendor == "postgresql" else []),
    ):
        with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
            with connection.cursor() as c:
                c.execute(sql)
    assert PendingEntry.objects.count() == 1
    assert pending.chain_pending() == 1  # once chained, the chainer may delete it
    assert not PendingEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_dropped_pending_guard_is_reported(make_user, regions):
    remove_guard(connection)
    install_guard(connection)
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            c.execute("DROP TRIGGER audit_pending_guard ON audit_pendingentry")
            name = "audit_pending_guard"
        else:
            c.execute("DROP TRIGGER audit_pending_delete_chained")
            name = "audit_pending_delete_chained"
    result = verify_chain()
    assert not result.ok and any(name in p for p in result.problems)
    install_guard(connection)
