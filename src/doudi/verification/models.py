"""经济状况核对: department extracts, consent, per-household reports, monthly re-checks and their signals.

Rows change only through services.py. Signals and outcomes are written in bulk by the re-check
(binary COPY on PostgreSQL), so their evidence is plain JSON text rather than a JSON column.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager
from doudi.verification.sources import SCHEMAS, Source


class SourceChoice(models.TextChoices):
    SOCIAL_INSURANCE = Source.SOCIAL_INSURANCE.value, _("社会保险与工资（人社）")
    TAX = Source.TAX.value, _("个人所得纳税（税务）")
    REAL_ESTATE = Source.REAL_ESTATE.value, _("不动产登记")
    VEHICLES = Source.VEHICLES.value, _("机动车登记（车管）")
    BUSINESS = Source.BUSINESS.value, _("市场主体登记（市场监管）")
    PROVIDENT_FUND = Source.PROVIDENT_FUND.value, _("住房公积金")
    BANK_DEPOSITS = Source.BANK_DEPOSITS.value, _("银行存款")
    DEATHS = Source.DEATHS.value, _("死亡登记（公安/卫健）")
    HOSPITALISATION = Source.HOSPITALISATION.value, _("住院记录（卫健）")
    HOUSEHOLD_REGISTRATION = Source.HOUSEHOLD_REGISTRATION.value, _("户籍变动（公安）")
    INSURANCE = Source.INSURANCE.value, _("商业保险")
    SECURITIES = Source.SECURITIES.value, _("证券账户")
    UNEMPLOYMENT = Source.UNEMPLOYMENT.value, _("失业登记（人社）")


assert set(SourceChoice.values) == {s.value for s in SCHEMAS}


class ExtractStatus(models.TextChoices):
    LOADED = "loaded", _("已入库")
    REFUSED = "refused", _("已拒收")


class Extract(models.Model):
    """One department extract: loaded whole (stored as Parquet, see extracts.extract_path) or refused
    whole with its row-level problems. A loaded extract is never replaced: reports cite it."""

    source = models.CharField(_("数据来源"), max_length=32, choices=SourceChoice.choices)
    extract_date = models.DateField(_("数据日期"))
    status = models.CharField(_("状态"), max_length=8, choices=ExtractStatus.choices)
    rows = models.BigIntegerField(_("记录数"), default=0)
    sha256 = models.CharField(_("文件摘要"), max_length=64)
    file_name = models.CharField(_("文件名"), max_length=200)
    file_format = models.CharField(_("格式"), max_length=8)
    error_count = models.BigIntegerField(_("问题数"), default=0)
    problems = models.JSONField(_("问题"), default=list, blank=True)
    ignored_columns = models.JSONField(_("忽略的列"), default=list, blank=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    loaded_at = models.DateTimeField(_("提交时间"))

    class Meta:
        ordering = ["-extract_date", "source", "-id"]
        verbose_name = _("部门数据")
        verbose_name_plural = _("部门数据")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "extract_date"],
                condition=models.Q(status="loaded"),
                name="one_loaded_extract_per_source_and_date",
            )
        ]
        indexes = [models.Index(fields=["source", "status", "extract_date"])]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.extract_date}"


class ConsentChannel(models.TextChoices):
    COUNTER = "counter", _("书面签署")
    PORTAL = "portal", _("网上申请时授权")


class Consent(models.Model):
    """核对授权书: the household's signed authorisation to query its members' records.

    Valid from `signed_on`, until `valid_until` (open: while the household is assisted) or until it
    is revoked. A check needs a consent valid on the day it runs (第五十八条). One given with an online
    application (channel `portal`) names the applicant as signer and the case's tracking number as its
    number, and has no recording officer."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="consents", verbose_name=_("家庭")
    )
    signed_on = models.DateField(_("签署日期"))
    signatories = models.CharField(_("签署人"), max_length=200)
    document_number = models.CharField(_("授权书编号"), max_length=64, blank=True)
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    channel = models.CharField(
        _("授权渠道"), max_length=16, choices=ConsentChannel.choices, default=ConsentChannel.COUNTER
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("登记时间"))
    revoked_on = models.DateField(_("撤回日期"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.CharField(_("撤回原因"), max_length=200, blank=True)

    region_field = "household__region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-signed_on", "-id"]
        verbose_name = _("核对授权书")
        verbose_name_plural = _("核对授权书")
        indexes = [models.Index(fields=["household", "signed_on"])]

    def __str__(self) -> str:
        return f"{self.household} {self.signed_on}"

    def valid_on(self, day) -> bool:
        return (
            self.signed_on <= day
            and (self.valid_until is None or day <= self.valid_until)
            and (self.revoked_on is None or day < self.revoked_on)
        )


class CheckReport(models.Model):
    """核对报告 of one household: every figure with the extract row it comes from (see check.py)."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="check_reports", verbose_name=_("家庭")
    )
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="reports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("核对时间"))
    as_of = models.DateField(_("数据截止日期"))
    period = models.CharField(_("评估月份"), max_length=7)
    case_number = models.CharField(_("案件编号"), max_length=40, blank=True, db_index=True)
    data = models.JSONField(_("报告内容"))
    declared_income_fen = models.BigIntegerField(_("申报月收入（分）"))
    verified_income_fen = models.BigIntegerField(_("核对月收入（分）"))
    difference_count = models.PositiveIntegerField(_("差异项数"), default=0)
    decision = models.CharField(_("低保评估结论"), max_length=16, blank=True)
    amount = models.IntegerField(_("低保金（元）"), null=True, blank=True)

    region_field = "household__region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("核对报告")
        verbose_name_plural = _("核对报告")

    def __str__(self) -> str:
        return f"R{self.pk} {self.household}"


# Signals and outcomes are written by the hundred thousand with binary COPY. Their keys come from
# the rows the same job has just read, so the database need not re-check each one: per-row foreign-key
# triggers and the indexes Django adds to every key tripled the write time at 1M households
# (docs/verification.md). The ORM still applies on_delete; the composite indexes below serve the reads.
BULK_FK = {"db_constraint": False, "db_index": False}


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("运行中")
    FINISHED = "finished", _("已完成")
    FAILED = "failed", _("失败")


class RecheckRun(models.Model):
    """动态复核: the monthly re-check of every recipient household; one run per month (idempotent).

    `stage`/`percent` are the progress shown while it runs; signals and outcomes are written with the
    FINISHED status in one transaction, so a killed run leaves nothing half-written."""

    month = models.CharField(_("复核月份"), max_length=7, unique=True)
    status = models.CharField(_("状态"), max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    stage = models.CharField(_("阶段"), max_length=32, blank=True)
    percent = models.PositiveSmallIntegerField(_("进度"), default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    households = models.BigIntegerField(_("复核家庭数"), default=0)
    persons = models.BigIntegerField(_("复核人数"), default=0)
    skipped_no_consent = models.BigIntegerField(_("无授权未核对"), default=0)
    signal_count = models.BigIntegerField(_("信号数"), default=0)
    outcome_count = models.BigIntegerField(_("变化家庭数"), default=0)
    deferred_count = models.BigIntegerField(_("暂缓减发/退出数"), default=0)
    windows = models.JSONField(_("疫情防控期间"), default=dict, blank=True)
    extracts = models.JSONField(_("使用的部门数据"), default=list, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("动态复核")
        verbose_name_plural = _("动态复核")

    def __str__(self) -> str:
        return self.month


class SignalKind(models.TextChoices):
    INCOME_UP = "income_up", _("收入增加")
    INCOME_DOWN = "income_down", _("收入减少")
    NEW_VEHICLE = "new_vehicle", _("新增车辆")
    NEW_PROPERTY = "new_property", _("新增房产")
    NEW_BUSINESS = "new_business", _("新增经营主体")
    DEPOSITS_UP = "deposits_up", _("存款超出申报")
    DEATH = "death", _("死亡")
    HOSPITALISATION = "hospitalisation", _("住院")
    NAME_MISMATCH = "name_mismatch", _("姓名不一致")
    NO_CONSENT = "no_consent", _("缺少核对授权")


class SignalStatus(models.TextChoices):
    OPEN = "open", _("待处理")
    CONFIRMED = "confirmed", _("已核实")
    DISMISSED = "dismissed", _("已排除")


class Signal(models.Model):
    """核对信号: something department data shows that the household's record does not.

    `evidence` is JSON text: the extract rows behind the figures ([{source, extract_date, row}…])."""

    run = models.ForeignKey(RecheckRun, on_delete=models.CASCADE, related_name="signals", **BULK_FK)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+", **BULK_FK
    )
    kind = models.CharField(_("信号"), max_length=16, choices=SignalKind.choices)
    declared_value = models.BigIntegerField(_("申报值"), null=True, blank=True)
    found_value = models.BigIntegerField(_("核对值"), null=True, blank=True)
    found_date = models.DateField(_("核对日期"), null=True, blank=True)  # of a death or an admission
    evidence = models.TextField(_("依据"), blank=True)
    status = models.CharField(_("处理状态"), max_length=10, choices=SignalStatus.choices, default="open")
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(_("处理说明"), max_length=200, blank=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("核对信号")
        verbose_name_plural = _("核对信号")
        indexes = [models.Index(fields=["run", "kind"]), models.Index(fields=["region", "status"])]


class Change(models.TextChoices):
    NONE = "none", _("不变")
    RAISE = "raise", _("增发")
    REDUCE = "reduce", _("减发")
    EXIT = "exit", _("退出")


class RecheckOutcome(models.Model):
    """The re-evaluation of one recipient household with verified figures (POLICY R1), written only
    where the payment would change (signals without a change are in Signal).

    In the emergency window a reduction or exit is never applied: `decision` is `hold` or
    `exit_deferred`, `proposed_amount` stays at the last amount, `deferred` is set and `change` says
    what would happen once the window ends (the deferred work-list)."""

    run = models.ForeignKey(RecheckRun, on_delete=models.CASCADE, related_name="outcomes", **BULK_FK)
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    last_amount = models.IntegerField(_("上月低保金（元）"))
    computed_amount = models.IntegerField(_("核对后测算金额（元）"))
    proposed_amount = models.IntegerField(_("建议发放金额（元）"))
    decision = models.CharField(_("评估结论"), max_length=16)
    change = models.CharField(_("变化"), max_length=8, choices=Change.choices)
    deferred = models.BooleanField(_("暂缓至疫情防控期间结束后"), default=False)
    declared_income_fen = models.BigIntegerField(_("申报月收入（分）"))
    verified_income_fen = models.BigIntegerField(_("核对月收入（分）"))
    signal_kinds = models.CharField(_("信号"), max_length=200, blank=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("复核结果")
        verbose_name_plural = _("复核结果")
        constraints = [
            models.UniqueConstraint(fields=["run", "household"], name="one_outcome_per_run_household")
        ]
        indexes = [models.Index(fields=["run", "region"])]


class ScheduleKind(models.TextChoices):
    """复核周期 (条例第26条)."""

    MONTHLY = "monthly", _("按月复核（城市，有劳动能力未就业成员）")
    QUARTERLY = "quarterly", _("按季复核（农村，有劳动能力未就业成员）")
    SIX_MONTHLY = "six_monthly", _("每半年复核（收入来源稳定）")
    YEARLY = "yearly", _("每年复核（重病、重残成员，收入基本稳定）")


class ScheduleReason(models.TextChoices):
    ABLE_JOBLESS_MEMBER = "able_jobless_member", _("有劳动年龄内、有劳动能力但未就业的成员")
    SEVERE_ILLNESS_OR_DISABILITY = "severe_illness_or_disability", _("有重病或重度残疾成员")
    STABLE_INCOME = "stable_income", _("家庭收入来源基本稳定")


class RecheckSchedule(models.Model):
    """A recipient household's re-check schedule (条例第26条): its kind by rule, and when the next
    re-check falls due — in the month of `next_due_on`, overdue once that month is over. Kept by
    services.refresh_schedules (the monthly re-check runs it first); a re-check done — by the monthly run
    for the households due that it could check, or recorded by the township — moves `next_due_on` on."""

    household = models.OneToOneField(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="recheck_schedule",
        verbose_name=_("家庭"),
    )
    kind = models.CharField(_("复核周期"), max_length=12, choices=ScheduleKind.choices)
    reason = models.CharField(_("依据"), max_length=32, choices=ScheduleReason.choices)
    next_due_on = models.DateField(_("下次复核月份"))
    last_checked_on = models.DateField(_("上次复核日期"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    region_field = "household__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("复核周期")
        verbose_name_plural = _("复核周期")
        indexes = [models.Index(fields=["next_due_on"])]


class RecheckDone(models.Model):
    """A re-check done (insert-only): by a monthly run, or recorded by an officer (入户、电话、微信核查)."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("复核周期"), max_length=12, choices=ScheduleKind.choices)
    due_on = models.DateField(_("应复核月份"))
    checked_on = models.DateField(_("复核日期"))
    run = models.ForeignKey(RecheckRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    region_field = "household__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("复核记录")
        verbose_name_plural = _("复核记录")
        indexes = [models.Index(fields=["household", "checked_on"])]
