"""群众服务: what the citizen portal keeps — the development message outbox and status-check codes.

Applications themselves are intake cases (channel `portal`); the portal stores nothing personal of
its own beyond the phone a message went to and the hashed one-time codes.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessagePurpose(models.TextChoices):
    APPLIED = "applied", _("申请已提交")
    STATUS_CODE = "status_code", _("查询验证码")
    ACCEPTED = "accepted", _("已受理")
    DECIDED = "decided", _("审批结果")
    CHANGED = "changed", _("待遇变更")
    PAYMENT_FAILED = "payment_failed", _("发放失败")
    OTHER = "other", _("其他")


class OutboxMessage(models.Model):
    """发件箱: every message the development backend "sent" (DOUDI_SMS_BACKEND=outbox), shown in the
    console so testers and administrators can read what a citizen would have received."""

    phone = models.CharField(_("手机号"), max_length=20)
    text = models.TextField(_("内容"))
    purpose = models.CharField(_("用途"), max_length=16, choices=MessagePurpose.choices)
    case = models.ForeignKey(
        "intake.Case",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("案件"),
    )
    backend = models.CharField(_("发送方式"), max_length=32, default="outbox")
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("短信发件箱")
        verbose_name_plural = _("短信发件箱")


class VerificationCode(models.Model):
    """查询验证码: a 6-digit code sent to the phone given with a case, valid 10 minutes, 5 tries.

    Only a salted HMAC of the code is stored (`code_hash`); the code itself exists only in the
    message. A new code for the same case supersedes the older ones.
    """

    case = models.ForeignKey("intake.Case", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    salt = models.CharField(max_length=32)
    created_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "used_at"])]


class Submission(models.Model):
    """重复提交: the open case an online application made, under a keyed hash of what makes it the
    same application (scheme, applicant ID number, child's ID number). A second submission while that
    case is open answers with its tracking number instead of opening another; the unique key makes two
    simultaneous submissions (a double click, two tabs) one case."""

    key = models.CharField(max_length=64, unique=True)
    case = models.ForeignKey("intake.Case", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)


class Notification(models.Model):
    """已通知: one row per event the household was texted about (`key`, e.g. ``case:12:3`` for the third
    step of case 12, ``change:40`` for an enrolment change, ``failed:7:2`` for payment line 7 returned
    failed from run 2). The unique key makes the same event announced twice (a signal sent again, a
    return file imported again) one message."""

    key = models.CharField(max_length=64, unique=True)
    purpose = models.CharField(_("用途"), max_length=16, choices=MessagePurpose.choices)
    sent = models.BooleanField(_("已发送"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("已通知事件")
        verbose_name_plural = _("已通知事件")
