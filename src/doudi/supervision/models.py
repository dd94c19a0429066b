"""Supervision's tables (资金监管、监督检查).

The checks on every payroll (docs/supervision.md):

- `CheckRun`: one run of the checks over a month's payroll — when, by whom (or after which payroll),
  and per check the findings it saw and the time it took.
- `Finding`: one thing a check found — a person paid twice, paid after death, a shared account … —
  with its evidence, keyed by a stable `key` so that running the checks again finds the same row
  instead of adding a second one. A finding is worked in the supervisor's queue: assigned, then
  confirmed (with the amount to recover, exact fen), explained, and recovered once repaid; every step is
  a row of the insert-only `FindingTransition` ledger.
- `Recovery` and `Repayment`: the money a confirmed finding asks back, and each sum repaid (insert-only);
  the finding becomes `recovered` when the repayments reach the amount.
- `StaffRelative`: 近亲属备案 (条例第33条) — a staff member's declaration that a person in the registry is
  a close relative; the check compares it with who handled or approved each beneficiary.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager
from doudi.intake.models import InsertOnlyManager, InsertOnlyModel, TransitionLedger
from doudi.payments.models import PayScheme


class Check(models.TextChoices):
    """The supervision checks; the code is part of each finding's key."""

    PAID_TWICE = "paid_twice", _("同一项目同月重复发放")
    TWO_DISTRICTS = "two_districts", _("同月在两个区县领取")
    PAID_AFTER_DEATH = "after_death", _("死亡后仍发放")
    TEKUN_AND_DIBAO = "tekun_dibao", _("特困与低保重复享受")
    SHARED_ACCOUNT = "shared_account", _("同一账户为无关家庭收款")
    STAFF_RELATIVE = "staff_relative", _("经办人员近亲属享受救助")
    AMOUNT_MISMATCH = "amount_mismatch", _("发放金额与规则测算不符")
    OVERRIDE_NO_REASON = "override_no_reason", _("人工调整金额未写明理由")
    LATE_PAYMENT = "late_payment", _("超过办理时限发放")
    NO_DISCLOSURE = "no_disclosure", _("未经公示作出决定")
    SHORT_DISCLOSURE = "short_disclosure", _("公示未满公示期")


class CheckRun(models.Model):
    """One run of the checks over a month: on demand, from the command line, or after a payroll."""

    month = models.CharField(_("检查月份"), max_length=7)
    trigger = models.CharField(_("触发方式"), max_length=16)  # console | command | payroll
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Per check: {"found": n, "new": n, "seconds": s}.
    results = models.JSONField(_("检查结果"), default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("监督检查运行")
        verbose_name_plural = _("监督检查运行")

    def __str__(self) -> str:
        return f"{self.month} {self.started_at:%Y-%m-%d %H:%M}"


class FindingState(models.TextChoices):
    OPEN = "open", _("待处理")
    ASSIGNED = "assigned", _("核查中")
    CONFIRMED = "confirmed", _("已确认")
    EXPLAINED = "explained", _("已说明")
    RECOVERED = "recovered", _("已追回")


# Worked on (in the queue) vs. resolved.
OPEN_STATES = (FindingState.OPEN, FindingState.ASSIGNED)


class Finding(models.Model):
    """问题线索: what one check found about one beneficiary (or account, case) and why.

    `key` is stable — the check, the month and what was found (e.g. `paid_twice:2020-03:dibao:12`) —
    and unique: running the checks again refreshes `last_run` and never adds a second row. `amount_fen`
    is the money at issue as found; `recover_fen` the amount to recover, set when it is confirmed."""

    key = models.CharField(_("线索编号"), max_length=160)
    check_code = models.CharField(_("检查项目"), max_length=20, choices=Check.choices)
    month = models.CharField(_("所属月份"), max_length=7)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("村社区")
    )
    district = models.CharField(_("区县"), max_length=12)
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey("intake.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    amount_fen = models.BigIntegerField(_("涉及金额（分）"), default=0)
    # What the check saw (line refs, dates, sources, the other household …): JSON, personal data masked.
    evidence = models.JSONField(_("证据"), default=dict)
    state = models.CharField(
        _("状态"), max_length=10, choices=FindingState.choices, default=FindingState.OPEN
    )
    version = models.PositiveIntegerField(default=1)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("核查人"),
    )
    recover_fen = models.BigIntegerField(_("应追回金额（分）"), null=True, blank=True)
    resolution = models.TextField(_("处理意见"), blank=True)
    first_run = models.ForeignKey(CheckRun, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(CheckRun, on_delete=models.PROTECT, related_name="+")
    found_at = models.DateTimeField(_("发现时间"))

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-found_at", "-id"]
        verbose_name = _("问题线索")
        verbose_name_plural = _("问题线索")
        constraints = [
            models.UniqueConstraint(fields=["key"], name="one_finding_per_key"),
            models.CheckConstraint(
                condition=models.Q(recover_fen__isnull=True) | models.Q(recover_fen__gte=0),
                name="finding_recover_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["state", "check_code"]), models.Index(fields=["month", "check_code"])]

    def __str__(self) -> str:
        return self.key


class FindingTransition(TransitionLedger):
    """The insert-only ledger of a finding: who, when, from, to, why (and to whom, how much)."""

    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="transitions")
    assigned_label = models.CharField(_("核查人"), max_length=150, blank=True)
    amount_fen = models.BigIntegerField(_("金额（分）"), null=True, blank=True)

    region_field = "finding__region"

    class Meta:
        ordering = ["finding", "seq"]
        verbose_name = _("线索处理记录")
        verbose_name_plural = _("线索处理记录")
        constraints = [
            models.UniqueConstraint(fields=["finding", "seq"], name="one_finding_transition_per_seq")
        ]


class Recovery(models.Model):
    """追回: the money a confirmed finding asks back, tracked until repaid."""

    finding = models.OneToOneField(Finding, on_delete=models.PROTECT, related_name="recovery")
    amount_fen = models.BigIntegerField(_("应追回金额（分）"))
    repaid_fen = models.BigIntegerField(_("已追回金额（分）"), default=0)
    created_at = models.DateTimeField(_("确认时间"))
    repaid_at = models.DateTimeField(_("追回完成时间"), null=True, blank=True)

    region_field = "finding__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("追回")
        verbose_name_plural = _("追回")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="recovery_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(repaid_fen__gte=0) & models.Q(repaid_fen__lte=models.F("amount_fen")),
                name="recovery_repaid_within_amount",
            ),
        ]

    @property
    def outstanding_fen(self) -> int:
        return self.amount_fen - self.repaid_fen


class Repayment(InsertOnlyModel):
    """One sum repaid against a recovery (退回资金): insert-only."""

    recovery = models.ForeignKey(Recovery, on_delete=models.PROTECT, related_name="repayments")
    seq = models.PositiveIntegerField()
    amount_fen = models.BigIntegerField(_("金额（分）"))
    paid_on = models.DateField(_("退回日期"))
    reference = models.CharField(_("缴款凭证号"), max_length=64, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by_label = models.CharField(_("登记人"), max_length=150)
    at = models.DateTimeField(_("登记时间"))

    region_field = "recovery__finding__region"
    objects = InsertOnlyManager()

    class Meta:
        ordering = ["recovery", "seq"]
        verbose_name = _("退回记录")
        verbose_name_plural = _("退回记录")
        constraints = [
            models.UniqueConstraint(fields=["recovery", "seq"], name="one_repayment_per_seq"),
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="repayment_amount_positive"),
        ]


class Kinship(models.TextChoices):
    """近亲属 (民法典第1045条): spouse, parents, children, siblings, grandparents, grandchildren."""

    SPOUSE = "spouse", _("配偶")
    PARENT = "parent", _("父母")
    CHILD = "child", _("子女")
    SIBLING = "sibling", _("兄弟姐妹")
    GRANDPARENT = "grandparent", _("祖父母、外祖父母")
    GRANDCHILD = "grandchild", _("孙子女、外孙子女")
    IN_LAW = "in_law", _("其他近姻亲")


class StaffRelative(models.Model):
    """近亲属备案 (条例第33条): a staff member declares that a person is a close relative. A
    declaration is withdrawn (never deleted) when it was wrong; the supervisor sees them all."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="declared_relatives"
    )
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+")
    relation = models.CharField(_("关系"), max_length=12, choices=Kinship.choices)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    declared_at = models.DateTimeField(_("备案时间"))
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("撤回理由"), max_length=200, blank=True)

    # Scoped by the staff member's unit: a district's supervisor sees its own staff's declarations.
    region_field = "staff__region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-declared_at", "-id"]
        verbose_name = _("近亲属备案")
        verbose_name_plural = _("近亲属备案")
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "person"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="one_open_declaration_per_staff_person",
            )
        ]


# --- 举报 (条例第34条): whistle-blowers' reports, issue 12 part 4 (supervision/whistle.py) -------------------------


class WhistleKind(models.TextChoices):
    FRAUD = "fraud", _("骗取、违规享受救助")
    FAVOURITISM = "favouritism", _("优亲厚友、人情保、关系保")
    INACTION = "inaction", _("不作为、拖延、推诿")
    PRIVACY = "privacy", _("泄露个人信息")
    FUNDS = "funds", _("截留、挪用资金")
    OTHER = "other", _("其他")


class WhistleState(models.TextChoices):
    RECEIVED = "received", _("已受理")
    ASSIGNED = "assigned", _("调查核实中")
    CONCLUDED = "concluded", _("已办结")


class WhistleOutcome(models.TextChoices):
    SUBSTANTIATED = "substantiated", _("举报属实")
    PARTLY = "partly", _("部分属实")
    UNSUBSTANTIATED = "unsubstantiated", _("举报不实")
    DUPLICATE = "duplicate", _("重复举报，并入原件办理")
    REFERRED = "referred", _("不属于民政职责，已转有关部门")


class WhistleReport(models.Model):
    """举报: one report from the public. The reporter's identity (`reporter_*`, blank when anonymous) is
    shown to the supervisor roles only — every read of it goes through whistle.report_view, which leaves
    it out for anyone else; it is never written to the audit log, an export or the API for another role.

    `tracking_number` is random (not a sequence): the reporter's only key to the status page, so it must
    not be guessable from another's. `submission` is the form's one-time token: the same form sent twice
    is the same report. `fingerprint` (a hash of the text) notices the same report sent again from
    another form, which is kept and marked `duplicate_of` the first."""

    tracking_number = models.CharField(_("举报编号"), max_length=20, unique=True)
    submission = models.CharField(max_length=64, unique=True)
    fingerprint = models.CharField(max_length=64, db_index=True)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("涉及区县")
    )
    kind = models.CharField(_("举报类型"), max_length=16, choices=WhistleKind.choices)
    about = models.CharField(_("被举报人或单位"), max_length=100, blank=True)
    body = models.TextField(_("举报内容"))
    anonymous = models.BooleanField(_("匿名举报"), default=True)
    reporter_name = models.CharField(_("举报人姓名"), max_length=64, blank=True)
    reporter_phone = models.CharField(_("举报人电话"), max_length=20, blank=True)
    reporter_id_number = models.CharField(_("举报人身份证号"), max_length=18, blank=True)
    duplicate_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("疑似重复于"),
    )
    state = models.CharField(
        _("状态"), max_length=10, choices=WhistleState.choices, default=WhistleState.RECEIVED
    )
    version = models.PositiveIntegerField(default=1)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("承办人"),
    )
    received_at = models.DateTimeField(_("受理时间"))
    due_on = models.DateField(_("办理期限"), null=True, blank=True)
    sla_error = models.CharField(_("时限计算问题"), max_length=300, blank=True)
    outcome = models.CharField(_("办理结果"), max_length=16, choices=WhistleOutcome.choices, blank=True)
    findings = models.TextField(_("调查情况"), blank=True)  # internal
    reply = models.TextField(_("答复举报人"), blank=True)  # shown on the public status page
    concluded_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("举报")
        verbose_name_plural = _("举报")
        indexes = [models.Index(fields=["state", "due_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(anonymous=False)
                | models.Q(reporter_name="", reporter_phone="", reporter_id_number=""),
                name="anonymous_report_has_no_identity",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_number


class WhistleTransition(TransitionLedger):
    """The insert-only ledger of a report's states: who, when, from, to, and the note."""

    report = models.ForeignKey(WhistleReport, on_delete=models.PROTECT, related_name="transitions")
    by_label = None  # a supervisor acts under their account; the log keeps who
    reason = None  # the conclusion is a note
    note = models.TextField(_("说明"), blank=True)

    region_field = "report__region"

    class Meta:
        ordering = ["report", "seq"]
        verbose_name = _("举报办理记录")
        verbose_name_plural = _("举报办理记录")
        constraints = [
            models.UniqueConstraint(fields=["report", "seq"], name="one_whistle_transition_per_seq")
        ]

    def __str__(self) -> str:
        return f"{self.report} #{self.seq} {self.from_state}→{self.to_state}"


# --- figures, funds, inspection (docs/supervision.md: 督查, 资金拨付进度, 监管看板, 年度公告) -----------------


class MonthFigure(models.Model):
    """监管统计 (an aggregate table): one month's payment lines summed per township (or the district or
    city node for a line placed above the townships), scheme and 低保 area type — exactly the figures of
    the monthly report (reports/selectors.py, whose queries fill it). The dashboards, the inspection page,
    the funds' progress and the annual report read these few thousand rows, never the month's lines."""

    month = models.CharField(_("月份"), max_length=7)
    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    district = models.CharField(_("区县"), max_length=12)
    scheme = models.CharField(_("发放项目"), max_length=16)
    area = models.CharField(_("城乡"), max_length=8, blank=True)
    recipients = models.BigIntegerField(_("保障户数/人数"), default=0)  # the month's own lines
    persons = models.BigIntegerField(_("保障人数"), default=0)
    due_fen = models.BigIntegerField(_("应发（分）"), default=0)
    paid_fen = models.BigIntegerField(_("实发（分）"), default=0)
    issued_fen = models.BigIntegerField(default=0)
    pending_fen = models.BigIntegerField(default=0)
    held_fen = models.BigIntegerField(default=0)
    failed_fen = models.BigIntegerField(default=0)
    new = models.BigIntegerField(_("新增"), default=0)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("监管统计（发放）")
        verbose_name_plural = _("监管统计（发放）")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "region", "scheme", "area"], name="one_month_figure_per_key"
            )
        ]
        indexes = [models.Index(fields=["month", "district"]), models.Index(fields=["district", "month"])]


class CoverageFigure(models.Model):
    """建档立卡覆盖 of one month per township (the monthly report's coverage query)."""

    month = models.CharField(_("月份"), max_length=7)
    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    district = models.CharField(_("区县"), max_length=12)
    poor = models.BigIntegerField(_("建档立卡人数"), default=0)
    covered = models.BigIntegerField(_("其中享受救助"), default=0)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["month", "region"], name="one_coverage_figure_per_key")
        ]
        indexes = [models.Index(fields=["month", "district"])]


class ContactFigure(models.Model):
    """探访逾期 per township on the day of the last refresh (care's contact schedule, counted)."""

    day = models.DateField(_("日期"))
    region = models.ForeignKey("regions.Region", on_delete=models.CASCADE, related_name="+")
    district = models.CharField(_("区县"), max_length=12)
    overdue = models.BigIntegerField(_("探访逾期人数"), default=0)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "region"], name="one_contact_figure_per_key")]


class FigureRefresh(models.Model):
    """When the figures of a month (or the contact figures, `month` = "contacts") were last computed, and
    from what: `stamp` names the payroll runs and bank returns they were read after, so a page can tell
    the figures are behind and say so."""

    month = models.CharField(_("月份"), max_length=8, unique=True)
    stamp = models.CharField(max_length=200)
    computed_at = models.DateTimeField(_("统计时间"))
    seconds = models.FloatField(default=0)


class AllocationStatus(models.TextChoices):
    PENDING = "pending", _("待复核")
    ACTIVE = "active", _("在用")
    SUPERSEDED = "superseded", _("已调整")
    REJECTED = "rejected", _("已驳回")


class Allocation(models.Model):
    """资金下达 (budget line): what the city allocates to one district for one scheme and year, in exact
    fen. Entered by one finance officer (`pending`) and approved by another (`active`; the line it
    replaces becomes `superseded`) or rejected — maker-checker, each step audited. At most one active
    and one pending line per district, scheme and year (database constraints)."""

    district = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("区县")
    )
    scheme = models.CharField(_("资金项目"), max_length=16, choices=PayScheme.choices)
    year = models.PositiveSmallIntegerField(_("年度"))
    amount_fen = models.BigIntegerField(_("下达金额（分）"))
    basis = models.CharField(_("下达文号/依据"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=10, choices=AllocationStatus.choices, default=AllocationStatus.PENDING
    )
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField(_("录入时间"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("复核时间"), null=True, blank=True)
    decision_note = models.CharField(_("复核意见"), max_length=300, blank=True)

    region_field = "district"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["year", "district", "scheme", "-proposed_at"]
        verbose_name = _("资金下达")
        verbose_name_plural = _("资金下达")
        constraints = [
            models.UniqueConstraint(
                fields=["district", "scheme", "year"],
                condition=models.Q(status="active"),
                name="one_active_allocation",
            ),
            models.UniqueConstraint(
                fields=["district", "scheme", "year"],
                condition=models.Q(status="pending"),
                name="one_pending_allocation",
            ),
            models.CheckConstraint(condition=models.Q(amount_fen__gte=0), name="allocation_not_negative"),
        ]


class SampleDraw(InsertOnlyModel):
    """随机抽查: case files drawn at random for a 督查 desk check. Reproducible: `seed` with the population
    (the district's decided cases of `case_types` decided from `date_from` to `date_to`, in id order, its
    SHA-256 kept) gives the same files again; recorded: who drew, when, which files. Insert-only."""

    district = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("区县")
    )
    seed = models.CharField(_("随机种子"), max_length=32)
    case_types = models.JSONField(_("案件类型"))
    date_from = models.DateField(_("决定日期自"))
    date_to = models.DateField(_("决定日期至"))
    population = models.PositiveIntegerField(_("总体案卷数"))
    population_sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField(_("抽取数"))
    case_ids = models.JSONField(_("抽中案卷"))
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    drawn_by_label = models.CharField(_("抽取人"), max_length=150)
    drawn_at = models.DateTimeField(_("抽取时间"))

    region_field = "district"
    objects = InsertOnlyManager()

    class Meta:
        ordering = ["-drawn_at", "-id"]
        verbose_name = _("随机抽查")
        verbose_name_plural = _("随机抽查")
