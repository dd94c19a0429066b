"""The database itself refuses UPDATE and DELETE on audit entries (append-only)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from doudi.audit.guards import install_guard

    install_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
