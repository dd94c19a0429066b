"""The database itself refuses UPDATE and DELETE on audit entries (append-only).

The statements are frozen here as this release installed them; 0004 replaces them with guards.py's."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_auditentry
       BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END""",
]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit entries are append-only'; END $$""",
    "DROP TRIGGER IF EXISTS audit_entry_no_change ON audit_auditentry",
    """CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_auditentry
       FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
]


def forwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for sql in POSTGRES if schema_editor.connection.vendor == "postgresql" else SQLITE:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
