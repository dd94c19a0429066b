"""资金发放: where a yuan leaves the system.

- `Bank`: a paying bank (代发银行) the bureau works with, how its account numbers look, and the column
  template of the file it takes (configured by the bureau).
- `PayeeAccount`: the 一卡通 / social-security-card account a beneficiary is paid into. The holder is the
  beneficiary, or a guardian or agent (with the reason recorded). Accounts change by maker-checker: one
  user proposes (`pending`), another approves (`active`; the previous active account becomes
  `superseded`) or rejects it. At most one active account per person (a database constraint).

The monthly payroll (发放花名册, docs/payments.md):

- `PayrollRun`: one month's payroll (`round` 0) or a follow-up (补发, `round` ≥ 1) that re-issues
  failed lines. It is computed from a frozen snapshot (Parquet under DOUDI_DATA_DIR, its SHA-256 and
  row counts kept on the run), so later registry or parameter edits change nothing in it.
- `PayrollBatch`: one district's part of a run, approved by tiers that cannot be skipped
  (computed → prepared → approved → confirmed); every step a row of the insert-only
  `PayrollTransition` ledger.
- `PaymentLine`: what one beneficiary gets from one scheme for one month — unique (beneficiary,
  scheme, month) in the database, so no yuan is ever doubled.
- `BankFile` and `ReturnImport`: the file sent to each bank, and the bank's answer line by line.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager
from doudi.intake.models import TransitionLedger

# Bulk tables (lines): foreign keys not enforced by the database (per-row FK checks triple the write
# time at a million lines; the keys come from the snapshot the same job has just read).
BULK_FK = {"db_constraint": False, "db_index": False}


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


# --- the monthly payroll ---------------------------------------------------------------------------


class RunStatus(models.TextChoices):
    FROZEN = "frozen", _("已冻结数据")
    RUNNING = "running", _("计算中")
    COMPUTED = "computed", _("已计算")
    FAILED = "failed", _("失败")


class RunKind(models.TextChoices):
    PAYROLL = "payroll", _("正常发放")
    ARREARS = "arrears", _("补发差额")


class PayrollRun(models.Model):
    """发放花名册: the payroll of one month (`round` 0) or a follow-up run (`round` ≥ 1, 补发) that
    re-issues the lines a bank returned as failed, once their account is corrected.

    `snapshot` is the directory (under DOUDI_DATA_DIR) of the frozen inputs; `snapshot_sha256` and
    `snapshot_rows` say exactly what was frozen. `stage`/`percent`/`heartbeat_at` are the progress
    shown while it computes."""

    month = models.CharField(_("发放月份"), max_length=7)
    round = models.PositiveSmallIntegerField(_("批次"), default=0)
    status = models.CharField(_("状态"), max_length=10, choices=RunStatus.choices, default=RunStatus.FROZEN)
    stage = models.CharField(_("阶段"), max_length=32, blank=True)
    percent = models.PositiveSmallIntegerField(_("进度"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    frozen_at = models.DateTimeField(_("冻结时间"), null=True, blank=True)
    snapshot = models.CharField(_("冻结数据目录"), max_length=200, blank=True)
    snapshot_sha256 = models.CharField(_("冻结数据 SHA-256"), max_length=64, blank=True)
    snapshot_rows = models.JSONField(_("冻结数据行数"), default=dict, blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(_("计算完成时间"), null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # host:pid of the process computing it: a dead process on this host is taken over at once.
    owner = models.CharField(max_length=80, blank=True)
    line_count = models.BigIntegerField(_("发放明细数"), default=0)
    total_fen = models.BigIntegerField(_("发放总额（分）"), default=0)
    held_count = models.BigIntegerField(_("暂缓发放数"), default=0)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(_("错误"), blank=True)
    # 补发差额 (arrears, docs/payments.md): a run of its own kind, paid in `month` (round ≥ 1), for the
    # owed months `arrears_from`…`arrears_to`; `arrears_seq` numbers the arrears runs and is part of
    # the key of their lines.
    kind = models.CharField(
        _("类型"), max_length=10, choices=RunKind.choices, default=RunKind.PAYROLL, db_default=RunKind.PAYROLL
    )
    arrears_from = models.CharField(_("补发起始月份"), max_length=7, blank=True, default="")
    arrears_to = models.CharField(_("补发截止月份"), max_length=7, blank=True, default="")
    arrears_seq = models.PositiveIntegerField(_("补发差额序号"), null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-month", "-round"]
        verbose_name = _("发放花名册")
        verbose_name_plural = _("发放花名册")
        constraints = [
            models.UniqueConstraint(fields=["month", "round"], name="one_payroll_per_month_round"),
            # Two arrears runs computed at once could each see the other's months as unpaid.
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind="arrears") & ~models.Q(status="computed"),
                name="one_open_arrears_run",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month}" + (f"#{self.round}" if self.round else "")

    @property
    def is_follow_up(self) -> bool:
        return self.round > 0 and not self.is_arrears

    @property
    def is_arrears(self) -> bool:
        return self.kind == RunKind.ARREARS


class BatchStatus(models.TextChoices):
    COMPUTED = "computed", _("待区县经办人提交")
    PREPARED = "prepared", _("待区县审批人审批")
    APPROVED = "approved", _("待市财政审核确认")
    CONFIRMED = "confirmed", _("已确认，可生成代发文件")


class PayrollBatch(models.Model):
    """One district's part of a payroll run, and where it stands in the approval tiers."""

    run = models.ForeignKey(PayrollRun, on_delete=models.CASCADE, related_name="batches")
    district = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("状态"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.COMPUTED
    )
    seq = models.PositiveIntegerField(default=0)
    line_count = models.BigIntegerField(_("发放明细数"), default=0)
    total_fen = models.BigIntegerField(_("发放总额（分）"), default=0)
    # Per scheme: count, total_fen, new, changed, held, deferred, stopped, previous_total_fen.
    summary = models.JSONField(default=dict, blank=True)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    region_field = "district"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["run", "district"]
        verbose_name = _("区县发放批次")
        verbose_name_plural = _("区县发放批次")
        constraints = [models.UniqueConstraint(fields=["run", "district"], name="one_batch_per_run_district")]

    def __str__(self) -> str:
        return f"{self.run} {self.district_id}"


class PayrollTransition(TransitionLedger):
    """The insert-only ledger of a batch's approval: who, when, from, to, why."""

    batch = models.ForeignKey(PayrollBatch, on_delete=models.PROTECT, related_name="transitions")
    reason = models.TextField(_("意见"), blank=True)

    region_field = "batch__district"

    class Meta:
        ordering = ["batch", "seq"]
        verbose_name = _("发放审批记录")
        verbose_name_plural = _("发放审批记录")
        constraints = [
            models.UniqueConstraint(fields=["batch", "seq"], name="one_payroll_transition_per_seq")
        ]


class PayScheme(models.TextChoices):
    DIBAO = "dibao", _("最低生活保障金")
    TEKUN = "tekun", _("特困人员基本生活费")
    CHILDREN = "children", _("儿童基本生活费")
    PRICE_SUBSIDY = "price_subsidy", _("价格临时补贴")
    COVID = "covid", _("新冠临时救助")
    BEREAVEMENT = "bereavement", _("丧葬救助")
    # One-off payments of a decided case (the code is the case type; beneficiary_id is the case id).
    TEMPORARY = "temporary", _("临时救助")
    CASE_BY_CASE = "case_by_case", _("一事一议救助")
    FIRST_AID = "first_aid", _("先行救助")


# Schemes paid to a household (the beneficiary key is the household id; the payee its head).
HOUSEHOLD_SCHEMES = frozenset({PayScheme.DIBAO, PayScheme.BEREAVEMENT})
# Schemes paid once per case, whatever the month (beneficiary_id is the intake case's id).
ONE_OFF_SCHEMES = (PayScheme.TEMPORARY, PayScheme.CASE_BY_CASE, PayScheme.FIRST_AID)


class LineStatus(models.TextChoices):
    PENDING = "pending", _("待发放")
    ISSUED = "issued", _("已报送银行")
    PAID = "paid", _("已到账")
    FAILED = "failed", _("发放失败")
    HELD = "held", _("暂缓发放")


class LineChange(models.TextChoices):
    NEW = "new", _("新增")
    CHANGED = "changed", _("金额变化")
    SAME = "same", _("无变化")


class LineFlag(models.TextChoices):
    NONE = "", _("无")
    REDUCE_NEEDS_DECISION = "reduce", _("规则测算应减发：按原金额发放，待书面决定")
    EXIT_NEEDS_DECISION = "exit", _("规则测算应停发：按原金额发放，待书面决定")
    DEFERRED_HOLD = "deferred_hold", _("疫情防控期间暂缓减发")
    DEFERRED_EXIT = "deferred_exit", _("疫情防控期间暂缓退出")
    NO_ACCOUNT = "no_account", _("无在用收款账户")
    NEEDS_DISTRICT_STANDARD = "district_standard", _("区县未定丧葬救助标准")
    INDEX_MISSING = "index_missing", _("缺少当月价格指数")
    CASH_GIVEN = "cash_given", _("村（居）已现金发放，不经银行代发")


# The lines a follow-up run may look at: failed (a failure code is required) or held for want of an
# account. Not by `status`: an index on it, or a partial index whose condition reads it, would make
# issuing a month's bank files rewrite every line and all its index entries instead of a heap-only
# update in place (the table keeps half of each page free for that: migration 0004's fillfactor).
REISSUE_CANDIDATES = ~models.Q(failure_code="") | models.Q(flag="no_account")


class PaymentLine(models.Model):
    """发放明细: one beneficiary, one scheme, one month — at most once (database constraint).

    `beneficiary_id` is the household's id for a household scheme (低保金, 丧葬救助) and the person's
    id otherwise; `person` is who is paid (the household head for a household scheme).

    One-off payments (临时救助, 一事一议, 先行救助: `ONE_OFF_SCHEMES`) are keyed by the case:
    `beneficiary_id` is the intake case's id and `scheme` its case type, and a second database
    constraint allows one line per (case, scheme) whatever the month, so a case is paid exactly once
    however many runs follow. `person` is the applicant, `household` the case's (else the applicant's
    current one). A 先行救助 the village already gave in cash is a line born `paid` with flag
    `cash_given` (never in a bank file). The account
    is copied from the snapshot: a later change of account does not touch an issued line.
    `issue_run` is the run whose bank file carries the line's current attempt (a follow-up run
    re-issues a failed line)."""

    run = models.ForeignKey(PayrollRun, on_delete=models.CASCADE, related_name="lines", **BULK_FK)
    # 流水号 in bank files and returns: month + the line's position in the month's payroll, so a run
    # killed and computed again gives the same references (database ids would not: sequences are not
    # rolled back).
    # Unique by the constraint below, not `unique=True`: that would add a varchar_pattern_ops twin
    # index on PostgreSQL that no query uses, maintained for every one of the month's lines.
    ref = models.CharField(_("流水号"), max_length=20)
    issue_run = models.ForeignKey(
        PayrollRun, on_delete=models.CASCADE, related_name="issued_lines", **BULK_FK
    )
    month = models.CharField(_("发放月份"), max_length=7)
    scheme = models.CharField(_("发放项目"), max_length=16, choices=PayScheme.choices)
    beneficiary_id = models.BigIntegerField()
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    district = models.CharField(_("区县"), max_length=12)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    previous_fen = models.BigIntegerField(_("上月金额（分）"), null=True, blank=True)
    change = models.CharField(_("变化"), max_length=8, choices=LineChange.choices)
    decision = models.CharField(_("评估结论"), max_length=16, blank=True)
    flag = models.CharField(_("提示"), max_length=20, choices=LineFlag.choices, blank=True)
    status = models.CharField(_("状态"), max_length=8, choices=LineStatus.choices)
    account = models.ForeignKey(
        PayeeAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+", **BULK_FK
    )
    bank_code = models.CharField(_("银行"), max_length=16, blank=True)
    account_number = models.CharField(_("账号"), max_length=32, blank=True)
    holder_name = models.CharField(_("户名"), max_length=64, blank=True)
    # 计算依据 as figures (yuan amounts in fen), the sentence rendered on demand (`basis`,
    # payments/explain.py): a million lines do not each carry the same words.
    standard_fen = models.BigIntegerField(_("保障标准（分）"), null=True, blank=True)
    size = models.PositiveSmallIntegerField(_("保障人数"), null=True, blank=True)
    income_fen = models.BigIntegerField(_("计算收入（分）"), null=True, blank=True)
    computed_fen = models.BigIntegerField(_("测算金额（分）"), null=True, blank=True)
    enrolled_fen = models.BigIntegerField(_("核定金额（分）"), null=True, blank=True)
    # A written basis for lines whose figures do not tell it (left blank by the monthly payroll).
    explanation = models.TextField(_("计算依据"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("发放次数"), default=0)
    failure_code = models.CharField(_("失败代码"), max_length=16, blank=True)
    failure_reason = models.CharField(_("失败原因"), max_length=200, blank=True)
    settled_at = models.DateTimeField(_("回盘时间"), null=True, blank=True)
    # 0: the month's own line; n ≥ 1: the difference paid by the n-th arrears run (补发差额) for the
    # owed `month`. The database default lets the payroll's bulk writes leave the column out.
    arrears_seq = models.PositiveIntegerField(_("补发差额序号"), default=0, db_default=0)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("发放明细")
        verbose_name_plural = _("发放明细")
        constraints = [
            # No yuan twice: one line per beneficiary, scheme and month, whatever the run — and at
            # most one difference per arrears run (arrears_seq, 0 for the month's own line).
            # Beneficiary first: a month's lines are its own partition on PostgreSQL (partitions.py),
            # so a month first would be the same value in every entry — the index built for a month
            # of 3.5M lines sorted in half the CPU with the beneficiary first (docs/benchmarks.md, P2),
            # and a line is then found by its beneficiary whatever its scheme.
            models.UniqueConstraint(
                fields=["beneficiary_id", "scheme", "month", "arrears_seq"], name="one_payment_per_month"
            ),
            # An arrears line pays a positive difference, nothing else.
            models.CheckConstraint(
                condition=models.Q(arrears_seq=0) | models.Q(amount_fen__gt=0),
                name="arrears_line_pays_a_positive_difference",
            ),
            models.UniqueConstraint(fields=["ref"], name="one_payment_line_per_ref"),
            # A one-off payment once per case, whatever the month or run.
            models.UniqueConstraint(
                fields=["beneficiary_id", "scheme"],
                condition=models.Q(scheme__in=["temporary", "case_by_case", "first_aid"]),
                name="one_payment_per_case",
            ),
        ]
        # Every index is maintained for each of a month's million lines: only those a query uses
        # (the review's lines, the bank files and returns, the follow-up's failed and held lines).
        indexes = [
            models.Index(fields=["run", "district", "scheme"]),
            models.Index(fields=["issue_run", "bank_code"]),
            models.Index(fields=["month"], condition=REISSUE_CANDIDATES, name="payment_line_reissuable"),
        ]

    def __str__(self) -> str:
        return f"{self.month} {self.scheme} {self.beneficiary_id}"

    @property
    def basis(self) -> str:
        """计算依据 as a sentence: the arithmetic in words and figures."""
        from doudi.payments.explain import line_basis

        return line_basis(self)


class ArrearsReduction(models.Model):
    """补发差额核减清单: an owed month where the parameters in force now give less than was paid or
    issued. The payroll never claws money back (R1: 减发 needs a written decision): the difference is
    listed for the bureau, not paid, not deducted."""

    run = models.ForeignKey(PayrollRun, on_delete=models.CASCADE, related_name="arrears_reductions")
    month = models.CharField(_("所属月份"), max_length=7)
    scheme = models.CharField(_("发放项目"), max_length=16, choices=PayScheme.choices)
    beneficiary_id = models.BigIntegerField()
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    person = models.ForeignKey("registry.Person", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", **BULK_FK)
    district = models.CharField(_("区县"), max_length=12)
    paid_fen = models.BigIntegerField(_("已发（分）"))
    due_fen = models.BigIntegerField(_("按现行参数应发（分）"))
    explanation = models.TextField(_("说明"), blank=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["run", "district", "month", "household_id", "scheme", "beneficiary_id"]
        verbose_name = _("补发差额核减清单")
        verbose_name_plural = _("补发差额核减清单")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "beneficiary_id", "scheme", "month"], name="one_arrears_reduction_per_key"
            ),
        ]


class BankFile(models.Model):
    """代发文件: the file of one run for one bank, exactly as written (its SHA-256, count, total)."""

    run = models.ForeignKey(PayrollRun, on_delete=models.PROTECT, related_name="bank_files")
    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("文件名"), max_length=120)
    path = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)
    line_count = models.BigIntegerField(_("笔数"))
    total_fen = models.BigIntegerField(_("总额（分）"))
    created_at = models.DateTimeField(_("生成时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["run", "bank"]
        verbose_name = _("代发文件")
        verbose_name_plural = _("代发文件")
        constraints = [models.UniqueConstraint(fields=["run", "bank"], name="one_bank_file_per_run_bank")]


class ReturnStatus(models.TextChoices):
    LOADED = "loaded", _("已导入")
    REFUSED = "refused", _("已拒收")


class ReturnImport(models.Model):
    """回盘文件: a bank's answer to a bank file, validated whole before any line is settled."""

    bank_file = models.ForeignKey(BankFile, on_delete=models.PROTECT, related_name="returns")
    file_name = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(_("状态"), max_length=8, choices=ReturnStatus.choices)
    paid_count = models.BigIntegerField(_("成功笔数"), default=0)
    failed_count = models.BigIntegerField(_("失败笔数"), default=0)
    problems = models.JSONField(_("问题"), default=list, blank=True)
    error_count = models.PositiveIntegerField(_("问题数"), default=0)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    imported_at = models.DateTimeField(_("导入时间"))

    class Meta:
        ordering = ["-imported_at", "-id"]
        verbose_name = _("回盘导入")
        verbose_name_plural = _("回盘导入")
