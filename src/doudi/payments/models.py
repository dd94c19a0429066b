"""资金发放: where a yuan leaves the system.

- `Bank`: a paying bank (代发银行) the bureau works with, how its account numbers look, and the column
  template of the file it takes (configured by the bureau).
- `PayeeAccount`: the 一卡通 / social-security-card account a beneficiary is paid into. The holder is the
  beneficiary, or a guardian or agent (with the reason recorded). Accounts change by maker-checker: one
  user proposes (`pending`), another approves (`active`; the previous active account becomes
  `superseded`) or rejects it. At most one active account per person (a database constraint).

The payroll (cycles, payment lines, bank files, returns) builds on these.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager


class Bank(models.Model):
    """代发银行: a bank the bureau pays through."""

    code = models.CharField(_("银行代码"), max_length=16, unique=True)
    name = models.CharField(_("银行名称"), max_length=64)
    # Accepted account-number lengths (digits), e.g. [16, 19]; Luhn check digit where the bank uses it.
    account_lengths = models.JSONField(_("账号位数"), default=list)
    uses_luhn = models.BooleanField(_("校验位（Luhn）"), default=True)
    # The bank's file: {"format": "xlsx"|"csv"|"fixed", "encoding": "utf-8"|"gb18030", "columns": [...]}
    file_template = models.JSONField(_("代发文件模板"), default=dict, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("代发银行")
        verbose_name_plural = _("代发银行")

    def __str__(self) -> str:
        return self.name


class HolderRelation(models.TextChoices):
    SELF = "self", _("本人")
    GUARDIAN = "guardian", _("监护人")
    AGENT = "agent", _("代理人")


class AccountStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    ACTIVE = "active", _("在用")
    SUPERSEDED = "superseded", _("已更换")
    REJECTED = "rejected", _("已驳回")


class PayeeAccount(models.Model):
    """收款账户 (一卡通/社保卡): the account a beneficiary's payments go to."""

    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, related_name="payee_accounts", verbose_name=_("保障对象")
    )
    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("银行"))
    account_number = models.CharField(_("账号"), max_length=32)
    holder_name = models.CharField(_("户名"), max_length=64)
    holder_relation = models.CharField(
        _("持卡人关系"), max_length=8, choices=HolderRelation.choices, default=HolderRelation.SELF
    )
    holder_reason = models.CharField(_("代领理由"), max_length=300, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=AccountStatus.choices, default=AccountStatus.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proposed_at = models.DateTimeField(_("提出时间"))
    proposal_reason = models.CharField(_("变更理由"), max_length=300, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    decision_note = models.CharField(_("复核意见"), max_length=300, blank=True)

    region_field = "person__region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["person", "-proposed_at", "-id"]
        verbose_name = _("收款账户")
        verbose_name_plural = _("收款账户")
        constraints = [
            # One account receives a person's money at any time.
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(status="active"), name="one_active_account_per_person"
            ),
            # A guardian or agent holds the card only with the reason written down.
            models.CheckConstraint(
                condition=models.Q(holder_relation="self") | ~models.Q(holder_reason=""),
                name="payee_account_agent_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["status", "bank"])]

    def __str__(self) -> str:
        return f"{self.bank_id}:{self.person_id}"
