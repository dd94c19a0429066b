"""PostgreSQL: payment lines partitioned by month (payments/partitions.py, docs/scale.md), the rows
of an existing table kept. SQLite keeps the plain table: nothing to do there."""

from django.db import migrations


def partition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from doudi.payments import partitions

        with schema_editor.connection.cursor() as cur:
            partitions.convert(cur)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from doudi.payments import partitions

        with schema_editor.connection.cursor() as cur:
            partitions.revert(cur)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0006_payment_lines_issued_in_place"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
