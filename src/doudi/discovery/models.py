"""主动发现 (应保尽保): sweeps, the leads they find and the outreach on each lead.

A lead's state changes only through services.py, each change a row of the insert-only LeadTransition
ledger (who, when, from, to, why). Leads are written in bulk by the sweep; their reasons are JSON text
(see sweep.py for the shape).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager
from doudi.intake.models import TransitionLedger

BULK_FK = {"db_constraint": False}


class LeadKind(models.TextChoices):
    REGISTERED_POOR = "registered_poor", _("建档立卡未纳入救助")
    INCOME_DROP = "income_drop", _("收入可能下降")
    COVID_PATIENT = "covid_patient", _("确诊患者未获临时救助")
    COVID_BEREAVED = "covid_bereaved", _("新冠死亡人员家庭未获丧葬救助")
    CHILD = "child", _("孤儿或事实无人抚养儿童未领基本生活费")
    TEKUN = "tekun", _("特困供养候选")
    EXPENDITURE = "expenditure", _("支出型困难")


class LeadState(models.TextChoices):
    FOUND = "found", _("待联系")
    CONTACTED = "contacted", _("已联系")
    APPLIED = "applied", _("已申请")
    ENROLLED = "enrolled", _("已纳入")
    DISMISSED = "dismissed", _("已排除")
    CLEARED = "cleared", _("不再符合")


# Leads a sweep may update or close; the others are settled and only a change of data reopens them.
LIVE_STATES = (LeadState.FOUND, LeadState.CONTACTED, LeadState.APPLIED)


class ContactMethod(models.TextChoices):
    PHONE = "phone", _("电话")
    VISIT = "visit", _("入户走访")
    WECHAT = "wechat", _("微信")


class SweepStatus(models.TextChoices):
    RUNNING = "running", _("进行中")
    FINISHED = "finished", _("已完成")
    FAILED = "failed", _("失败")


class SweepRun(models.Model):
    """One sweep over the registry and the loaded extracts (the monthly job, or `doudi discover`)."""

    day = models.DateField(_("发现日期"))
    status = models.CharField(_("状态"), max_length=10, choices=SweepStatus.choices)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    found = models.PositiveIntegerField(_("线索数"), default=0)
    new = models.PositiveIntegerField(_("新增线索"), default=0)
    closed = models.PositiveIntegerField(_("结束线索"), default=0)
    extracts = models.JSONField(_("读取的部门数据"), default=list, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("发现批次")
        verbose_name_plural = _("发现批次")


class Lead(models.Model):
    """线索: a household (or one person of it) probably eligible for a scheme it does not receive.

    `key` is the subject (kind, household, person); at most one live lead per key. `fingerprint`
    hashes the data behind the reasons: a settled lead (dismissed, cleared, enrolled) is found again
    as a new lead only when it differs."""

    key = models.CharField(max_length=64)
    kind = models.CharField(_("线索类型"), max_length=16, choices=LeadKind.choices)
    state = models.CharField(_("状态"), max_length=10, choices=LeadState.choices, default=LeadState.FOUND)
    version = models.PositiveIntegerField(default=1)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+", **BULK_FK
    )
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("村社区"), **BULK_FK
    )
    township = models.ForeignKey(
        "regions.Region",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("责任乡镇街道"),
        **BULK_FK,
    )
    district = models.CharField(_("区县"), max_length=12)
    reasons = models.TextField(_("理由与依据"))
    fingerprint = models.CharField(max_length=32)
    estimate_fen = models.BigIntegerField(_("测算收入（分）"), null=True, blank=True)
    threshold_fen = models.BigIntegerField(_("对照标准（分）"), null=True, blank=True)
    found_run = models.ForeignKey(SweepRun, on_delete=models.PROTECT, related_name="+", **BULK_FK)
    seen_run = models.ForeignKey(SweepRun, on_delete=models.PROTECT, related_name="+", **BULK_FK)
    found_on = models.DateField(_("发现日期"))
    due_on = models.DateField(_("联系期限"))
    case = models.ForeignKey(
        "intake.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("案件"),
    )
    contacted_at = models.DateTimeField(_("首次联系"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("发现线索")
        verbose_name_plural = _("发现线索")
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(state__in=["found", "contacted", "applied"]),
                name="one_live_lead_per_subject",
            )
        ]
        indexes = [
            models.Index(fields=["key", "fingerprint"]),
            models.Index(fields=["district", "state"]),
            models.Index(fields=["township", "state", "due_on"]),
        ]

    def __str__(self) -> str:
        return f"L{self.pk}"


class LeadTransition(TransitionLedger):
    """The insert-only ledger of a lead: found, contacted (how), applied (the case), dismissed (why)…"""

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="transitions", **BULK_FK)
    data = models.JSONField(default=dict, blank=True)

    region_field = "lead__region"

    class Meta:
        ordering = ["lead", "seq"]
        verbose_name = _("线索处理记录")
        verbose_name_plural = _("线索处理记录")
        constraints = [models.UniqueConstraint(fields=["lead", "seq"], name="one_lead_transition_per_seq")]
