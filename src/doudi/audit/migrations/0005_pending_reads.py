"""Staff reads are written to audit_pendingentry without the chain's lock and appended to the chain
after the response (audit/pending.py); the table's guards (guards.py) are installed with it."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def install(apps, schema_editor):
    from doudi.audit.guards import install_guard

    install_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_guard_the_tip"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(verbose_name="时间")),
                ("actor_label", models.CharField(max_length=150, verbose_name="操作人")),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("create", "新增"),
                            ("update", "修改"),
                            ("delete", "删除"),
                            ("read", "查阅"),
                            ("export", "导出"),
                            ("import", "导入"),
                            ("login", "登录"),
                            ("action", "业务操作"),
                        ],
                        max_length=16,
                        verbose_name="操作",
                    ),
                ),
                ("object_type", models.CharField(max_length=64, verbose_name="对象类型")),
                ("object_id", models.CharField(max_length=64, verbose_name="对象")),
                ("region_path", models.CharField(blank=True, max_length=80)),
                ("reason", models.TextField(blank=True, verbose_name="原因")),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "待入链审计记录",
                "verbose_name_plural": "待入链审计记录",
                "ordering": ["id"],
            },
        ),
        migrations.RunPython(install, migrations.RunPython.noop),
    ]
