"""一门受理: cases from every channel, their ledger, comments, attachments, transfers, referrals, COVID events.

A case's region (`Case.region`) is its *responsible unit*: the village, township or district node that
holds it now. Region scope follows it: a case is visible in the subtree above its responsible unit.
When a transfer (转办) to another unit is accepted the case's region becomes the receiving unit, so the
case leaves the sender's view; the sender keeps the `Transfer` row (scoped by `from_region`) as its
trail. See docs/intake.md.

Rows that are the case's record — the transition ledger and comments — are insert-only: the model
refuses updates and deletes (and the queryset refuses bulk ones).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager, RegionScopedQuerySet


class CaseType(models.TextChoices):
    DIBAO = "dibao", _("最低生活保障")
    TEKUN = "tekun", _("特困人员供养")
    CHILDREN = "children", _("儿童基本生活保障")
    TEMPORARY = "temporary", _("临时救助")
    CASE_BY_CASE = "case_by_case", _("一事一议")
    FIRST_AID = "first_aid", _("先行救助")
    STRANDED = "stranded", _("滞留人员救助")
    CARE = "care", _("照料服务")
    OBJECTION = "objection", _("异议")
    COMPLAINT = "complaint", _("投诉举报")
    CHANGE_REPORT = "change_report", _("家庭情况变化报告")


# Subtypes a case type accepts (empty: none). The workflows read them (e.g. 急难型 vs 支出型 thresholds).
SUBTYPES: dict[str, dict[str, object]] = {
    CaseType.TEMPORARY: {"urgent": _("急难型"), "expenditure": _("支出型")},
    CaseType.CHILDREN: {
        "orphan": _("孤儿"),
        "de_facto_unsupported_child": _("事实无人抚养儿童"),
        "hardship_child": _("困境儿童"),
    },
}

# Case types a person may file without being identified (anonymous report, unidentified stranded person).
ANONYMOUS_TYPES = frozenset({CaseType.STRANDED, CaseType.COMPLAINT})


class Channel(models.TextChoices):
    PORTAL = "portal", _("网上申请")
    HOTLINE = "hotline", _("热线电话")
    WALK_IN = "walk_in", _("窗口受理")
    VILLAGE_FIRST_AID = "village_first_aid", _("村社区先行救助")
    PATROL = "patrol", _("巡查报告")
    DEPARTMENT_REFERRAL = "department_referral", _("其他部门转介")
    DISTRICT_TRANSFER = "district_transfer", _("外区县转来")
    CARE_CONTACT = "care_contact", _("走访探视")


class Department(models.TextChoices):
    """Departments a case may be referred to (转介), or that hold part of it."""

    CIVIL_AFFAIRS = "civil_affairs", _("民政")
    HUMAN_RESOURCES = "human_resources", _("人力社保")
    MEDICAL_SECURITY = "medical_security", _("医疗保障")
    EDUCATION = "education", _("教育")
    HOUSING = "housing", _("住房城乡建设")
    DISABLED_FEDERATION = "disabled_federation", _("残联")
    HEALTH = "health", _("卫生健康")
    RESCUE_STATION = "rescue_station", _("救助管理站")
    PSYCHOLOGICAL = "psychological", _("心理援助")
    PUBLIC_SECURITY = "public_security", _("公安")
    OTHER = "other", _("其他")


class CaseQuerySet(RegionScopedQuerySet):
    def open(self) -> CaseQuerySet:
        return self.filter(closed_at__isnull=True)

    def overdue(self, today) -> CaseQuerySet:
        return self.open().filter(due_on__lt=today)


CaseManager = models.Manager.from_queryset(CaseQuerySet)


class SlaUnit(models.TextChoices):
    WORKING_DAYS = "wd", _("个工作日")
    CALENDAR_DAYS = "cd", _("日")


class Case(models.Model):
    """案件: one request for help, with one tracking number (受理编号) from filing to closing.

    `state` takes the values of the case type's flow (flows.py); it changes only through
    `services.record_transition`, which also bumps `version` (for optimistic checks: a form or API
    client sends the version it saw, a stale one gets a Conflict) and appends a CaseTransition.
    The SLA fields are a cache of `sla.compute_clock` over the ledger, refreshed on every change.
    """

    tracking_number = models.CharField(_("受理编号"), max_length=32, unique=True)
    case_type = models.CharField(_("案件类型"), max_length=16, choices=CaseType.choices)
    subtype = models.CharField(_("细类"), max_length=32, blank=True)
    channel = models.CharField(_("来源渠道"), max_length=24, choices=Channel.choices)
    state = models.CharField(_("状态"), max_length=32, db_index=True)
    version = models.PositiveIntegerField(default=1)

    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("责任单位")
    )
    department = models.CharField(_("责任部门"), max_length=24, choices=Department.choices, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("经办人"),
    )

    applicant = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("申请人"),
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cases",
        verbose_name=_("家庭"),
    )
    # As given at filing: a non-local applicant, or a person not (yet) in the registry.
    applicant_name = models.CharField(_("申请人姓名"), max_length=64, blank=True)
    applicant_id_number = models.CharField(_("申请人身份证号"), max_length=18, blank=True)
    applicant_phone = models.CharField(_("联系电话"), max_length=20, blank=True)

    summary = models.TextField(_("诉求与情况"))
    details = models.JSONField(_("业务数据"), default=dict, blank=True)
    related_case = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="related_cases",
        verbose_name=_("关联案件"),
    )

    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登记人"),
    )
    filed_on_behalf = models.BooleanField(_("代为申请"), default=False)
    filed_at = models.DateTimeField(_("登记时间"))
    accepted_on = models.DateField(_("受理日期"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    # 条例第17条: everything missing is listed once; the list and when it was given.
    missing_items = models.JSONField(_("需补正材料"), default=list, blank=True)
    missing_requested_at = models.DateTimeField(_("一次性告知时间"), null=True, blank=True)

    # The SLA clock (see sla.py): phase, start, limit, and the due date it gives.
    sla_phase = models.CharField(_("计时阶段"), max_length=16, blank=True)
    sla_started_on = models.DateField(_("计时起点"), null=True, blank=True)
    sla_limit = models.PositiveSmallIntegerField(_("时限"), null=True, blank=True)
    sla_unit = models.CharField(_("时限单位"), max_length=2, choices=SlaUnit.choices, blank=True)
    sla_basis = models.CharField(_("时限依据"), max_length=200, blank=True)
    sla_paused_since = models.DateField(_("暂停计时自"), null=True, blank=True)
    sla_error = models.CharField(_("时限计算问题"), max_length=300, blank=True)
    due_on = models.DateField(_("办理期限"), null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    region_field = "region"
    objects = CaseManager()

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        indexes = [
            models.Index(fields=["region", "state"]),
            models.Index(fields=["case_type", "state"]),
            models.Index(fields=["closed_at", "due_on"]),
            # The open cases per region with what the supervisors' dashboard and lists count (type,
            # state, due): an index-only scan of the few open cases instead of the heap of all of them
            # (docs/benchmarks.md S2). PostgreSQL keeps the included columns; SQLite the partial index.
            models.Index(
                fields=["region"],
                include=["case_type", "state", "due_on"],
                condition=models.Q(closed_at__isnull=True),
                name="case_open_by_region",
            ),
        ]

    def __str__(self) -> str:
        return self.tracking_number

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def subtype_label(self) -> str:
        return str(SUBTYPES.get(self.case_type, {}).get(self.subtype, self.subtype))

    @property
    def display_name(self) -> str:
        return self.applicant.name if self.applicant_id else self.applicant_name


class InsertOnlyQuerySet(RegionScopedQuerySet):
    """Bulk updates and deletes are refused too, not only instance ones."""

    def update(self, **kwargs):
        raise PermissionError(f"{self.model._meta.label} rows are insert-only")

    def delete(self):
        raise PermissionError(f"{self.model._meta.label} rows are insert-only")


InsertOnlyManager = models.Manager.from_queryset(InsertOnlyQuerySet)


class InsertOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError(f"{self._meta.label} rows are insert-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(f"{self._meta.label} rows are insert-only")


class TransitionLedger(InsertOnlyModel):
    """An insert-only ledger of a state machine: the `seq`-th step — what action, from which state to
    which, by whom (`by_label` keeps the name when the account goes), when, and why. Each ledger adds
    its subject (a ForeignKey with a unique (subject, seq)), its region and what else it records; a
    ledger may widen a field or drop one (`by_label = None`)."""

    seq = models.PositiveIntegerField()
    action = models.CharField(_("操作"), max_length=16)
    from_state = models.CharField(_("原状态"), max_length=10, blank=True)
    to_state = models.CharField(_("新状态"), max_length=10)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by_label = models.CharField(_("操作人"), max_length=150)
    at = models.DateTimeField(_("时间"))
    reason = models.TextField(_("理由"), blank=True)

    objects = InsertOnlyManager()

    class Meta:
        abstract = True


class CaseTransition(TransitionLedger):
    """The insert-only ledger of a case's states: who, when, from, to, why.

    `seq` is the case's version after the transition; (case, seq) is unique, so two writers that
    somehow both passed the checks cannot both append (the second fails and rolls back).
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transitions")
    action = models.CharField(_("操作"), max_length=32)
    from_state = models.CharField(_("原状态"), max_length=32, blank=True)
    to_state = models.CharField(_("新状态"), max_length=32)
    data = models.JSONField(default=dict, blank=True)

    region_field = "case__region"

    class Meta:
        ordering = ["case", "seq"]
        verbose_name = _("状态变更记录")
        verbose_name_plural = _("状态变更记录")
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="case_transition_unique_seq")]


class Comment(InsertOnlyModel):
    """办理意见/备注 on a case; part of its record, so never edited."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(_("填写人"), max_length=150)
    text = models.TextField(_("内容"))
    at = models.DateTimeField(_("时间"))

    region_field = "case__region"
    objects = InsertOnlyManager()

    class Meta:
        ordering = ["case", "at", "id"]
        verbose_name = _("办理意见")
        verbose_name_plural = _("办理意见")


class Attachment(InsertOnlyModel):
    """附件: a file stored under MEDIA_ROOT with a generated name; type checked by its content."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="attachments")
    label = models.CharField(_("材料名称"), max_length=100)
    file = models.FileField(max_length=200)
    original_name = models.CharField(_("原文件名"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_by_label = models.CharField(_("上传人"), max_length=150)
    uploaded_at = models.DateTimeField(_("上传时间"))

    region_field = "case__region"
    objects = InsertOnlyManager()

    class Meta:
        ordering = ["case", "uploaded_at", "id"]
        verbose_name = _("附件")
        verbose_name_plural = _("附件")


class TransferStatus(models.TextChoices):
    PENDING = "pending", _("待接收")
    ACCEPTED = "accepted", _("已接收")
    RETURNED = "returned", _("已退回")
    WITHDRAWN = "withdrawn", _("已撤回")


class Transfer(models.Model):
    """转办: handing a case to the competent unit (e.g. the district where a non-local applicant lives).

    Scoped by the *sending* unit (this manager) and, through `IncomingTransfer`, by the receiving one:
    both keep seeing the row whatever happens to the case. While pending the case stays with the
    sender (it remains accountable); on acceptance the case's region becomes `to_region`.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="transfers")
    from_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("转出单位")
    )
    to_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("接收单位")
    )
    reason = models.TextField(_("转办理由"))
    state_at_transfer = models.CharField(max_length=32)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("转办时间"))
    due_on = models.DateField(_("接收期限"))
    status = models.CharField(
        _("状态"),
        max_length=10,
        choices=TransferStatus.choices,
        default=TransferStatus.PENDING,
        db_index=True,
    )
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    responded_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    response_note = models.TextField(_("处理意见"), blank=True)

    region_field = "from_region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("转办")
        verbose_name_plural = _("转办")
        constraints = [
            # At most one pending transfer per case: a case is never in flight to two units.
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(status="pending"), name="one_pending_transfer_per_case"
            ),
        ]

    @property
    def is_pending(self) -> bool:
        return self.status == TransferStatus.PENDING


class IncomingTransfer(Transfer):
    """The same rows seen from the receiving unit (scoped by `to_region`)."""

    region_field = "to_region"

    class Meta:
        proxy = True


class Referral(models.Model):
    """转介: asking another department (人社, 医保, 教育, 住建, 残联, 卫健 …) to act; it acknowledges and answers.

    Departments are not necessarily users of the platform: an officer in scope of the case records
    their acknowledgement and answer (with the department contact's name); each has a deadline.
    """

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    department = models.CharField(_("转介部门"), max_length=24, choices=Department.choices)
    to_unit_name = models.CharField(_("接收单位"), max_length=100, blank=True)
    reason = models.TextField(_("转介事项"))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("转介时间"))
    ack_due_on = models.DateField(_("签收期限"))
    answer_due_on = models.DateField(_("答复期限"))
    acknowledged_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_contact = models.CharField(_("签收人"), max_length=64, blank=True)
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answer_contact = models.CharField(_("答复人"), max_length=64, blank=True)
    answer = models.TextField(_("答复内容"), blank=True)

    region_field = "case__region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("转介")
        verbose_name_plural = _("转介")
        indexes = [models.Index(fields=["answered_at", "answer_due_on"])]

    @property
    def is_open(self) -> bool:
        return self.answered_at is None

    def overdue_on(self, today) -> bool:
        if self.answered_at is not None:
            return False
        if self.acknowledged_at is None and self.ack_due_on < today:
            return True
        return self.answer_due_on < today


class TrackingCounter(models.Model):
    """The last sequence number issued per district and day (filled by one upsert, race-free)."""

    district = models.CharField(max_length=12)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["district", "day"], name="tracking_counter_unique")]


class CovidEventKind(models.TextChoices):
    CONFIRMED = "confirmed", _("确诊")
    DISCHARGED = "discharged", _("治愈出院")
    DIED = "died", _("死亡")


class CovidEventSource(models.TextChoices):
    IMPORT = "import", _("卫健部门名单导入")
    MANUAL = "manual", _("手工录入")


class CovidImport(models.Model):
    """One imported health-department list (卫健部门名单), written whole or not at all."""

    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField()
    rows = models.PositiveIntegerField()
    created = models.PositiveIntegerField()
    skipped = models.PositiveIntegerField()

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-imported_at"]


class CovidEvent(models.Model):
    """新冠确诊/出院/死亡 of one person: feeds POLICY R5/R6 through Person.covid_* (kept in sync by
    services.record_covid_event). A wrong entry is voided (with a reason), never edited or deleted."""

    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="covid_events")
    kind = models.CharField(_("事件"), max_length=10, choices=CovidEventKind.choices)
    date = models.DateField(_("日期"))
    source = models.CharField(_("来源"), max_length=8, choices=CovidEventSource.choices)
    batch = models.ForeignKey(
        CovidImport, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("录入时间"))
    voided_at = models.DateTimeField(_("作废时间"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(_("作废原因"), max_length=200, blank=True)

    region_field = "person__region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["person", "date", "id"]
        verbose_name = _("新冠事件")
        verbose_name_plural = _("新冠事件")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind", "date"],
                condition=models.Q(voided_at__isnull=True),
                name="covid_event_unique_live",
            ),
        ]


class HolidayYear(models.Model):
    """节假日安排: one year's public holidays and adjusted workdays (调休上班) as the bureau loaded them
    from the State Council's notice (国务院办公厅关于YYYY年部分节假日安排的通知), for a year the installed
    calendar package does not cover yet. The notice comes out each November, often before a package
    release does: without it no working-day time limit can be computed for that year (intake/sla.py)."""

    year = models.PositiveSmallIntegerField(_("年份"), unique=True)
    source = models.CharField(_("依据"), max_length=200)
    sha256 = models.CharField(max_length=64)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    loaded_at = models.DateTimeField(_("录入时间"))

    class Meta:
        verbose_name = _("节假日安排")
        verbose_name_plural = _("节假日安排")
        ordering = ["year"]

    def __str__(self) -> str:
        return str(self.year)


class HolidayDay(models.Model):
    """One listed day of a loaded year: a day off (放假) or an adjusted workday (调休上班). Days not
    listed follow the week: Monday to Friday work, Saturday and Sunday off."""

    calendar = models.ForeignKey(HolidayYear, on_delete=models.CASCADE, related_name="days")
    day = models.DateField(_("日期"), unique=True)
    workday = models.BooleanField(_("调休上班"))
    name = models.CharField(_("节日"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("节假日")
        verbose_name_plural = _("节假日")
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day} {'班' if self.workday else '休'}"
