"""Every entry has its number; the guards now cover the chain tip and refuse out-of-sequence inserts and
TRUNCATE (guards.py). Installed after the column change, which rebuilds the table on SQLite."""

from django.db import migrations, models


def lift(apps, schema_editor):
    from doudi.audit.guards import remove_guard

    remove_guard(schema_editor.connection)


def install(apps, schema_editor):
    from doudi.audit.guards import install_guard

    install_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_keyed_chain")]
    operations = [
        migrations.RunPython(lift, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditentry", name="seq", field=models.BigIntegerField(unique=True, verbose_name="序号")
        ),
        migrations.RunPython(install, lift),
    ]
