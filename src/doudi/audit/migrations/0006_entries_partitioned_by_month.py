"""PostgreSQL: audit entries partitioned by month (audit/partitions.py, docs/scale.md), the rows of an
existing log kept in order and the guards installed again on the new table. SQLite keeps the plain table:
nothing to do there."""

from django.db import migrations


def partition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from doudi.audit import partitions
        from doudi.audit.guards import install_guard

        with schema_editor.connection.cursor() as cur:
            partitions.convert(cur)
        install_guard(schema_editor.connection)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from doudi.audit import partitions
        from doudi.audit.guards import install_guard, remove_guard

        remove_guard(schema_editor.connection)
        with schema_editor.connection.cursor() as cur:
            partitions.revert(cur)
        install_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_pending_reads")]
    operations = [migrations.RunPython(partition, unpartition)]
