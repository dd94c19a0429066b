"""救助待遇: who receives which scheme, from which month, how much — and the ledger of every change.

An `Enrolment` is the standing result of an approval (审批): the household, the scheme, the month the
payment starts (条例第22条: paid from the month of approval), the monthly amount and the decision case
it comes from. Payroll (a later issue) reads active enrolments; it never writes them. Every change of
an enrolment (enrolled, amount changed, ended) is a row of the insert-only `EnrolmentChange` ledger.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager
from doudi.intake.models import InsertOnlyManager, InsertOnlyModel


class Scheme(models.TextChoices):
    DIBAO = "dibao", _("最低生活保障")
    TEKUN = "tekun", _("特困人员供养")
    CHILDREN = "children", _("儿童基本生活保障")


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("在保")
    ENDED = "ended", _("已停保")


class Enrolment(models.Model):
    """在保记录: one household in one scheme from `from_month` (the 1st of the month) at `monthly_amount`
    yuan, until `end_month` (the last month paid, 1st of that month) when ended."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("家庭")
    )
    scheme = models.CharField(_("救助项目"), max_length=16, choices=Scheme.choices)
    status = models.CharField(
        _("状态"), max_length=8, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    from_month = models.DateField(_("起始月份"))
    monthly_amount = models.PositiveIntegerField(_("月救助金（元）"))
    decision_case = models.ForeignKey(
        "intake.Case",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrolments",
        verbose_name=_("审批案件"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(_("审批时间"))
    end_month = models.DateField(_("终止月份"), null=True, blank=True)
    end_reason = models.CharField(_("终止原因"), max_length=500, blank=True)

    region_field = "household__region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-from_month", "-id"]
        verbose_name = _("在保记录")
        verbose_name_plural = _("在保记录")
        constraints = [
            # A household is never enrolled twice in one scheme at once (no doubled payments).
            models.UniqueConstraint(
                fields=["household", "scheme"],
                condition=models.Q(status="active"),
                name="one_active_enrolment_per_household_scheme",
            ),
        ]
        indexes = [models.Index(fields=["scheme", "status"])]

    def __str__(self) -> str:
        return f"{self.get_scheme_display()} {self.household} {self.from_month:%Y-%m}"


class ChangeKind(models.TextChoices):
    ENROLLED = "enrolled", _("纳入")
    AMOUNT = "amount", _("调整金额")
    ENDED = "ended", _("停保")


class EnrolmentChange(InsertOnlyModel):
    """The insert-only ledger of an enrolment: what changed, when, by whom, why, on which case."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(_("变更"), max_length=8, choices=ChangeKind.choices)
    effective_month = models.DateField(_("生效月份"))
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by_label = models.CharField(_("操作人"), max_length=150)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    case = models.ForeignKey("intake.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    region_field = "enrolment__household__region"
    objects = InsertOnlyManager()

    class Meta:
        ordering = ["enrolment", "at", "id"]
        verbose_name = _("在保变更记录")
        verbose_name_plural = _("在保变更记录")
