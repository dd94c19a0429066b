"""只读副本: reports read from the replica alias, every write and every other read go to the primary.

The PostgreSQL run (make test-postgres) names a `replica` alias that mirrors the test database — a
second connection to the same server, as a streaming replica would be another server. The report's
fixture commits its rows (transactional), so the second connection sees them.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from doudi.core.replica import REPLICA, ReplicaRouter, read_alias, reporting
from doudi.payments.models import PaymentLine

URL = reverse("reports:monthly")
XLSX = reverse("reports:monthly_xlsx")

needs_replica = pytest.mark.skipif(  # availability: the PostgreSQL run sets DATABASE_REPLICA_URL
    REPLICA not in settings.DATABASES,
    reason="needs DATABASE_REPLICA_URL (make test-postgres points it at the test database as a mirror)",
)


def test_without_a_replica_or_outside_a_report_everything_uses_the_primary(settings):
    router = ReplicaRouter()
    settings.DOUDI_REPLICA_READS = True
    assert read_alias() == DEFAULT_DB_ALIAS  # not in a report
    with reporting():
        assert router.db_for_write(PaymentLine) == DEFAULT_DB_ALIAS
        settings.DOUDI_REPLICA_READS = False  # the switch sends reports back to the primary
        assert read_alias() == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "payments")
    assert not router.allow_migrate(REPLICA, "payments")  # a replica is never migrated


def _sql(ctx: CaptureQueriesContext) -> str:
    return "\n".join(q["sql"] for q in ctx.captured_queries)


@needs_replica
@pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPLICA], transaction=True)
def test_the_report_reads_the_replica_and_its_export_audit_is_written_to_the_primary(
    two_months, client, settings
):
    from doudi.audit.models import AuditEntry

    settings.DOUDI_REPLICA_READS = True
    client.force_login(two_months.users.finance)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            page = client.get(URL, {"month": "2020-04"})
    assert page.status_code == 200 and page.context["report"].has_payroll
    assert "payments_paymentline" in _sql(on_replica)
    assert "payments_paymentline" not in _sql(on_primary)  # the long read left the primary alone

    exports = AuditEntry.objects.filter(action="export").count()
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            response = client.get(XLSX, {"month": "2020-04", "region": "500000"})
    assert response.status_code == 200
    assert AuditEntry.objects.filter(action="export").count() == exports + 1
    assert "payments_paymentline" in _sql(on_replica)
    assert 'INSERT INTO "audit_auditentry"' in _sql(on_primary)
    for q in on_replica.captured_queries:  # nothing is ever written through the replica alias
        assert not q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")), q["sql"]


@needs_replica
@pytest.mark.django_db(databases=[DEFAULT_DB_ALIAS, REPLICA], transaction=True)
def test_a_read_inside_a_write_stays_on_the_primary(two_months, settings):
    settings.DOUDI_REPLICA_READS = True
    line = PaymentLine.objects.order_by("pk").first()
    with reporting():
        assert PaymentLine.objects.all().db == REPLICA
        with transaction.atomic():  # a write's transaction: its reads must see its own rows
            assert PaymentLine.objects.all().db == DEFAULT_DB_ALIAS
            assert PaymentLine.objects.select_for_update().filter(pk=line.pk).db == DEFAULT_DB_ALIAS
        fetched = PaymentLine.objects.get(pk=line.pk)
        assert fetched._state.db == REPLICA
        with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
            fetched.save(update_fields=["status"])  # an object read from the replica saves to the primary
        assert any(q["sql"].startswith("UPDATE") for q in on_primary.captured_queries)
