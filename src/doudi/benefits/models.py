"""救助待遇: who receives which scheme, from which month, how much — and the ledger of every change.

An `Enrolment` is the standing result of an approval (审批): the scheme, who receives it, the month the
payment starts, the monthly amount and the decision case it comes from. Payroll reads
active enrolments; it never writes them. Every change of an enrolment (enrolled, amount raised or
reduced, suspended (停发: paused, not paid, can be resumed), resumed, ended) is a row of the
insert-only `EnrolmentChange` ledger.

Two levels (`PERSON_LEVEL`): 低保 is granted to a household (the dibao unit; `person` is empty), 特困供养
and 儿童基本生活保障 to one person (`person` set; `household` is the person's household when enrolled,
for the payment account and the region). The database holds the rules: one active enrolment per
household in dibao, one per person in a person-level scheme, and `person` set exactly for those.
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


# Schemes granted to one person rather than to a household (POLICY R2, R3).
PERSON_LEVEL = frozenset({Scheme.TEKUN, Scheme.CHILDREN})


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("在保")
    SUSPENDED = "suspended", _("停发中")  # still enrolled, payment paused until resumed
    ENDED = "ended", _("已停保")


# Enrolled (for the one-enrolment-at-a-time rules): a suspended enrolment is paused, not ended.
ENROLLED = (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED)


class Enrolment(models.Model):
    """在保记录: one household (dibao) or one person (tekun, children) in one scheme from `from_month`
    (the 1st of the month) at `monthly_amount` yuan, until `end_month` (the last month paid, 1st of that
    month) when ended."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("家庭")
    )
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enrolments",
        verbose_name=_("保障对象"),
    )
    scheme = models.CharField(_("救助项目"), max_length=16, choices=Scheme.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
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
            # Never enrolled twice in one scheme at once (no doubled payments): a household in dibao …
            models.UniqueConstraint(
                fields=["household", "scheme"],
                condition=models.Q(status__in=["active", "suspended"], scheme="dibao"),
                name="one_active_dibao_enrolment_per_household",
            ),
            # … a person in a person-level scheme (two orphans of one household are two enrolments).
            models.UniqueConstraint(
                fields=["person", "scheme"],
                condition=models.Q(status__in=["active", "suspended"], person__isnull=False),
                name="one_active_enrolment_per_person_scheme",
            ),
            models.CheckConstraint(
                condition=(models.Q(scheme="dibao") & models.Q(person__isnull=True))
                | (models.Q(scheme__in=["tekun", "children"]) & models.Q(person__isnull=False)),
                name="enrolment_person_iff_person_level_scheme",
            ),
        ]
        indexes = [models.Index(fields=["scheme", "status"])]

    def __str__(self) -> str:
        who = self.person if self.person_id else self.household
        return f"{self.get_scheme_display()} {who} {self.from_month:%Y-%m}"

    @property
    def beneficiary(self):
        """Who the enrolment names: the person (特困, children) or the household's head (dibao)."""
        return self.person if self.person_id else self.household.head


class ChangeKind(models.TextChoices):
    ENROLLED = "enrolled", _("纳入")
    AMOUNT = "amount", _("调整金额")  # 增发 or 减发: before/after carry the amounts
    SUSPENDED = "suspend", _("停发")
    RESUMED = "resume", _("恢复发放")
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


# --- the end of the emergency window (疫情防控期结束): preview, approval, changes ---------------------------


class ReviewStatus(models.TextChoices):
    COMPUTING = "computing", _("计算中")
    READY = "ready", _("待审批")
    FAILED = "failed", _("计算失败")
    SUPERSEDED = "superseded", _("已由新预览替代")
    APPLIED = "applied", _("已审批落实")


class WindowEndReview(models.Model):
    """疫情防控期结束：影响预览 — for a district (or the city), what the first month after the declared end
    of the emergency window changes: the deferred reductions and exits (R1), the children's age-outs
    (R3), the COVID assistance that stops and the children's deferred documents now due. Its items are
    written once, when computed; approval applies exactly them (benefits.services.approve_window_end)."""

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("范围")
    )
    window_start = models.DateField(_("疫情防控期间开始"))
    window_end = models.DateField(_("疫情防控期间结束"))
    month = models.DateField(_("结束后首月"))
    status = models.CharField(
        _("状态"), max_length=12, choices=ReviewStatus.choices, default=ReviewStatus.COMPUTING
    )
    stage = models.CharField(max_length=32, blank=True)
    percent = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("编制人")
    )
    prepared_at = models.DateTimeField(_("编制时间"))
    computed_at = models.DateTimeField(null=True, blank=True)
    # Totals by scheme (households, persons, fen per month in the window's last month and after) and
    # the count of each kind of item, as computed; the districts left out (their window still open).
    summary = models.JSONField(default=dict, blank=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-prepared_at", "-id"]
        verbose_name = _("疫情防控期结束影响预览")
        verbose_name_plural = _("疫情防控期结束影响预览")

    @property
    def applying(self) -> list:
        """The approvals whose changes are still being applied (the page polls their progress)."""
        return list(self.approvals.filter(finished_at__isnull=True).select_related("district"))


class ItemKind(models.TextChoices):
    REDUCE = "reduce", _("减发")
    EXIT = "exit", _("退出")
    AGE_OUT = "age_out", _("年满18周岁停发")
    COVID_STOP = "covid_stop", _("新冠临时救助停发")
    DOCUMENTS = "documents", _("补交材料到期")


class ItemOutcome(models.TextChoices):
    PENDING = "", _("待审批")
    APPLIED = "applied", _("已落实")
    STALE = "stale", _("情况已变化，未落实")


class WindowEndItem(models.Model):
    """One change of the preview: an enrolment reduced or ended, a COVID assistance that stops, or a
    children's case whose deferred proofs fall due — the amounts as previewed (yuan per month)."""

    review = models.ForeignKey(WindowEndReview, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(_("类别"), max_length=12, choices=ItemKind.choices)
    scheme = models.CharField(_("救助项目"), max_length=16)
    district = models.CharField(_("区县"), max_length=12)
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="+", verbose_name=_("家庭")
    )
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey("intake.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    persons = models.PositiveIntegerField(_("人数"), default=1)
    before_amount = models.PositiveIntegerField(_("原月发放（元）"), default=0)
    after_amount = models.PositiveIntegerField(_("结束后月发放（元）"), default=0)
    reason = models.TextField(_("理由"))
    detail = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(
        _("落实情况"), max_length=8, choices=ItemOutcome.choices, default=ItemOutcome.PENDING, blank=True
    )
    change = models.ForeignKey(
        EnrolmentChange, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    applied_at = models.DateTimeField(null=True, blank=True)

    region_field = "household__region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["review", "district", "kind", "household", "id"]
        verbose_name = _("疫情防控期结束变更")
        verbose_name_plural = _("疫情防控期结束变更")
        constraints = [
            models.UniqueConstraint(
                fields=["review", "enrolment"],
                condition=models.Q(enrolment__isnull=False),
                name="one_window_end_item_per_enrolment",
            ),
        ]


class WindowEndApproval(models.Model):
    """审批: one district's part of a preview approved — once (the second is a conflict), never by
    the preview's preparer. Applying its items runs after, with progress."""

    review = models.ForeignKey(WindowEndReview, on_delete=models.PROTECT, related_name="approvals")
    district = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    note = models.CharField(max_length=500, blank=True)
    percent = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)

    region_field = "district"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["review", "district"]
        constraints = [
            models.UniqueConstraint(fields=["review", "district"], name="one_approval_per_review_district")
        ]
