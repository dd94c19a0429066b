"""审计日志: the append-only, hash-chained log of every write and every staff read of personal data."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("新增")
    UPDATE = "update", _("修改")
    DELETE = "delete", _("删除")
    READ = "read", _("查阅")
    EXPORT = "export", _("导出")
    IMPORT = "import", _("导入")
    LOGIN = "login", _("登录")
    ACTION = "action", _("业务操作")


class AuditEntry(models.Model):
    """One entry; `hash` (keyed, see chain.py) covers all its content and the previous entry's hash, so an
    edit or a deletion anywhere breaks the chain that `doudi audit verify` recomputes."""

    seq = models.BigIntegerField(_("序号"), unique=True)
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("操作人"), max_length=150)
    action = models.CharField(_("操作"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象"), max_length=64)
    region_path = models.CharField(max_length=80, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(_("原因"), blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("审计记录")
        verbose_name_plural = _("审计记录")
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit entries are append-only")


class AuditHead(models.Model):
    """The single row holding the chain's tip: serialises appends and lets verify notice a
    truncated tail. The database lets it move only forward, one entry at a time (guards.py)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    count = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"audit chain tip after {self.count} entries"


class PendingEntry(models.Model):
    """待入链: a staff read (查阅记录) committed without the chain's lock, waiting for the chainer
    (audit/pending.py) to append it to the keyed chain as an AuditEntry with the same content.

    The database keeps it from disappearing on the way: no UPDATE, no TRUNCATE while rows are there, and a
    row may be deleted only once an entry with its content is in the chain (pending.py's guards)."""

    at = models.DateTimeField(_("时间"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("操作人"), max_length=150)
    action = models.CharField(_("操作"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("对象类型"), max_length=64)
    object_id = models.CharField(_("对象"), max_length=64)
    region_path = models.CharField(max_length=80, blank=True)
    reason = models.TextField(_("原因"), blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("待入链审计记录")
        verbose_name_plural = _("待入链审计记录")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("pending audit entries are insert-only")
        super().save(*args, **kwargs)
