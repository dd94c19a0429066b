"""Writes of 资金发放. Each function is one business action in one transaction, audited.

收款账户 (payee accounts) change by maker-checker: `propose_account` (经办: any acting officer of the
person's village, township or district) writes a `pending` account; `approve_account` or
`reject_account` (复核: a district officer or approver, never the proposer) decides it. Approval makes
it the one `active` account the payroll pays into and the previous one `superseded`. Account numbers
are masked in every audit entry: the full number leaves the system only in the bank's payment file.

The monthly payroll (发放花名册, docs/payments.md): freeze → compute → district submits (区县经办人)
→ district approves (区县审批人) → municipal finance confirms (市财政/市民政财务审核) → bank files → the
bank's return → follow-up run for failed lines. Tiers cannot be skipped and one person never signs two
tiers of the same batch.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from stdnum import luhn

from doudi.accounts.roles import Role
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.errors import Conflict
from doudi.core.masking import mask_account_number
from doudi.core.scoping import region_in_scope
from doudi.payments import arrears, bankfiles, oneoffs, partitions, payroll, signals
from doudi.payments.models import (
    REISSUE_CANDIDATES,
    AccountStatus,
    ArrearsReduction,
    Bank,
    BankFile,
    BatchStatus,
    HolderRelation,
    LineFlag,
    LineStatus,
    PayeeAccount,
    PaymentLine,
    PayrollBatch,
    PayrollRun,
    PayrollTransition,
    PayScheme,
    ReturnImport,
    ReturnStatus,
    RunKind,
    RunStatus,
)
from doudi.payments.signals import announce_return
from doudi.policy.periods import Period
from doudi.registry.models import Person

# Who writes a proposal (the officers who meet the household) and who checks it (the district, which pays).
PROPOSER_ROLES = (Role.VILLAGE_WORKER, Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER, Role.DISTRICT_APPROVER)
APPROVER_ROLES = (Role.DISTRICT_OFFICER, Role.DISTRICT_APPROVER)

# When a bank names no lengths: the shortest and longest account numbers any bank issues.
ANY_LENGTH = (8, 32)
MAX_TEXT = 300


def can_propose_account(user: Any) -> bool:
    return bool(
        user is not None and getattr(user, "is_authenticated", False) and user.has_role(*PROPOSER_ROLES)
    )


def can_approve_accounts(user: Any) -> bool:
    return bool(
        user is not None and getattr(user, "is_authenticated", False) and user.has_role(*APPROVER_ROLES)
    )


def _has_invisible(text: str) -> bool:
    """Format and control characters other than whitespace (zero-width space, BOM, bidi marks …): they
    can make what an officer sees differ from what is stored, so they are refused rather than dropped."""
    return any(unicodedata.category(ch) in ("Cf", "Cc") and not ch.isspace() for ch in text)


def clean_account_number(raw: Any, bank: Bank | None) -> str:
    """账号校验: the digits of an account number as the bank expects them. Spaces (also full-width ones)
    are removed and full-width digits read as digits; anything else that is not a digit, a length the
    bank does not issue, or a wrong Luhn check digit where the bank uses one is refused."""
    text = unicodedata.normalize("NFKC", str(raw if raw is not None else ""))
    if _has_invisible(text):
        raise ValidationError({"account_number": _("账号含有不可见字符，请手工重新输入。")})
    digits = "".join(text.split())
    if not digits:
        raise ValidationError({"account_number": _("请填写账号。")})
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError({"account_number": _("账号只能由数字组成（可含空格）。")})
    lengths = sorted(int(n) for n in (bank.account_lengths if bank is not None else []) or [])
    if lengths and len(digits) not in lengths:
        raise ValidationError(
            {
                "account_number": _("%(bank)s的账号应为 %(lengths)s 位，您填写了 %(n)s 位。")
                % {"bank": bank.name, "lengths": "、".join(map(str, lengths)), "n": len(digits)}
            }
        )
    if not lengths and not ANY_LENGTH[0] <= len(digits) <= ANY_LENGTH[1]:
        raise ValidationError(
            {
                "account_number": _("账号应为 %(lo)s 至 %(hi)s 位数字。")
                % {"lo": ANY_LENGTH[0], "hi": ANY_LENGTH[1]}
            }
        )
    if bank is not None and bank.uses_luhn and not luhn.is_valid(digits):
        raise ValidationError({"account_number": _("账号校验位不正确，请核对卡号。")})
    return digits


def _text(raw: Any, key: str, errors: dict[str, str], *, required: str = "") -> str:
    text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()
    if _has_invisible(text):
        errors[key] = _("含有不可见字符，请手工重新输入。")
    elif len(text) > MAX_TEXT:
        errors[key] = _("最多 %(n)s 个字。") % {"n": MAX_TEXT}
    elif required and not text:
        errors[key] = required
    return text


def account_snapshot(account: PayeeAccount) -> dict:
    """An account as the audit log keeps it: the number masked."""
    return {
        "person": account.person_id,
        "bank": account.bank.code,
        "account_number": mask_account_number(account.account_number),
        "holder_name": account.holder_name,
        "holder_relation": account.holder_relation,
        "status": account.status,
    }


@transaction.atomic
def propose_account(
    *,
    person: Person,
    bank: Bank | None,
    account_number: Any,
    holder_name: Any = "",
    holder_relation: str = HolderRelation.SELF,
    holder_reason: Any = "",
    reason: Any = "",
    by: Any,
) -> PayeeAccount:
    """变更账户（经办）: propose the account a person's payments go to; it takes effect only when another
    officer approves it. One proposal per person waits at a time. Every problem is reported at once,
    keyed by field."""
    person = Person.objects.select_for_update(of=("self",)).select_related("region").get(pk=person.pk)
    if not can_propose_account(by) or not region_in_scope(by, person.region):
        raise PermissionDenied(_("您没有为该人员变更收款账户的权限。"))
    if person.merged_into_id:
        raise ValidationError({"person": _("该人员记录已合并，请在保留的记录上变更账户。")})
    errors: dict[str, str] = {}
    number = ""
    if bank is None or not bank.active:
        errors["bank"] = _("请选择一家在用的代发银行。")
    else:
        try:
            number = clean_account_number(account_number, bank)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    by_other = holder_relation in (HolderRelation.GUARDIAN, HolderRelation.AGENT)
    if holder_relation not in HolderRelation.values:
        errors["holder_relation"] = _("请选择持卡人与保障对象的关系。")
    name = _text(holder_name, "holder_name", errors)
    holder_reason = _text(
        holder_reason,
        "holder_reason",
        errors,
        required=_("监护人或代理人持卡须写明理由。") if by_other else "",
    )
    reason = _text(reason, "reason", errors)
    if holder_relation == HolderRelation.SELF:
        holder_reason = ""
        name = name or person.name
        if "holder_name" not in errors and name != person.name:
            errors["holder_name"] = _(
                "本人持卡时户名应与保障对象姓名（%(name)s）一致；他人持卡请选择监护人或代理人。"
            ) % {"name": person.name}
    elif by_other and not name and "holder_name" not in errors:
        errors["holder_name"] = _("请填写持卡人姓名。")
    current = PayeeAccount.objects.filter(person=person, status=AccountStatus.ACTIVE).first()
    if current is not None and not reason and "reason" not in errors:
        errors["reason"] = _("更换在用账户须写明理由。")
    if errors:
        raise ValidationError(errors)
    if current is not None and (current.bank_id, current.account_number, current.holder_name) == (
        bank.pk,
        number,
        name,
    ):
        raise ValidationError({"account_number": _("与在用账户相同，无需变更。")})
    if PayeeAccount.objects.filter(person=person, status=AccountStatus.PENDING).exists():
        raise Conflict(_("该人员已有待复核的账户变更，请先复核或驳回。"), path="person")
    account = PayeeAccount.objects.create(
        person=person,
        bank=bank,
        account_number=number,
        holder_name=name,
        holder_relation=holder_relation,
        holder_reason=holder_reason,
        status=AccountStatus.PENDING,
        proposed_by=by,
        proposed_at=timezone.now(),
        proposal_reason=reason,
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=account,
        before=account_snapshot(current) if current else None,
        after=account_snapshot(account),
        reason=reason or _("登记收款账户"),
    )
    return account


def _pending_for_decision(account: PayeeAccount, by: Any) -> PayeeAccount:
    """The proposal, locked, once the checker may decide it: a district officer of the person's region,
    not its proposer, and still pending."""
    account = (
        PayeeAccount.objects.select_for_update(of=("self",))
        .select_related("person__region", "bank")
        .get(pk=account.pk)
    )
    if not can_approve_accounts(by) or not region_in_scope(by, account.person.region):
        raise PermissionDenied(_("只有区县民政经办人或审批人可以复核账户变更。"))
    if account.status != AccountStatus.PENDING:
        raise Conflict(
            _("该账户变更已经复核（%(s)s）。") % {"s": account.get_status_display()}, path="status"
        )
    if account.proposed_by_id == by.pk:
        raise PermissionDenied(_("提出人不能复核自己提出的账户变更，请由另一位工作人员复核。"))
    return account


@transaction.atomic
def approve_account(*, account: PayeeAccount, by: Any, note: Any = "") -> PayeeAccount:
    """复核通过: the proposal becomes the active account; the previous active one is superseded."""
    account = _pending_for_decision(account, by)
    errors: dict[str, str] = {}
    note = _text(note, "note", errors)
    if errors:
        raise ValidationError(errors)
    if not account.bank.active:
        raise ValidationError({"bank": _("%(bank)s已停用，不能启用该账户。") % {"bank": account.bank.name}})
    now = timezone.now()
    for old in PayeeAccount.objects.select_for_update().filter(
        person_id=account.person_id, status=AccountStatus.ACTIVE
    ):
        before = account_snapshot(old)
        old.status = AccountStatus.SUPERSEDED
        old.save(update_fields=["status"])
        record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=old,
            before=before,
            after=account_snapshot(old),
            reason=_("由新账户替换"),
        )
    before = account_snapshot(account)
    account.status, account.decided_by, account.decided_at, account.decision_note = (
        AccountStatus.ACTIVE,
        by,
        now,
        note,
    )
    try:
        with transaction.atomic():
            account.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    except IntegrityError as exc:  # another approval for the same person won
        raise Conflict(_("该人员的收款账户刚被他人变更，请刷新后重试。"), path="status") from exc
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=account,
        before=before,
        after=account_snapshot(account),
        reason=note or _("复核通过"),
    )
    return account


@transaction.atomic
def reject_account(*, account: PayeeAccount, by: Any, note: Any) -> PayeeAccount:
    """复核驳回: the proposal is refused, with the reason written down; the active account stays."""
    account = _pending_for_decision(account, by)
    errors: dict[str, str] = {}
    note = _text(note, "note", errors, required=_("驳回须写明理由。"))
    if errors:
        raise ValidationError(errors)
    before = account_snapshot(account)
    account.status, account.decided_by, account.decided_at, account.decision_note = (
        AccountStatus.REJECTED,
        by,
        timezone.now(),
        note,
    )
    account.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=account,
        before=before,
        after=account_snapshot(account),
        reason=note,
    )
    return account


# --- the monthly payroll ---------------------------------------------------------------------------

STALE_AFTER = timedelta(minutes=10)
RUNNERS = (Role.MUNICIPAL_ADMIN,)
FILE_MAKERS = (Role.MUNICIPAL_FINANCE, Role.MUNICIPAL_ADMIN)
BANK_ADMINS = (Role.MUNICIPAL_ADMIN,)

# The tiers: (action, from, to, the role that signs it).
TIERS = {
    "submit": (BatchStatus.COMPUTED, BatchStatus.PREPARED, Role.DISTRICT_OFFICER),
    "approve": (BatchStatus.PREPARED, BatchStatus.APPROVED, Role.DISTRICT_APPROVER),
    "confirm": (BatchStatus.APPROVED, BatchStatus.CONFIRMED, Role.MUNICIPAL_FINANCE),
}


class PayrollBusy(Conflict):
    pass


def data_dir() -> Path:
    return Path(settings.DOUDI_DATA_DIR)


def _require_role(user: Any, roles: tuple[Role, ...], message: str) -> None:
    if user is None:
        return  # the system itself (a command run by the operator)
    if not getattr(user, "is_authenticated", False) or not user.has_role(*roles):
        raise PermissionDenied(message)


def snapshot_dir(month: str, round_: int) -> Path:
    return data_dir() / "payroll" / f"{month}-r{round_}"


# --- freeze and compute ------------------------------------------------------------------------------


def freeze_run(*, month: Period, officer: Any = None) -> PayrollRun:
    """冻结: create the month's payroll and freeze everything it is computed on. A run already frozen
    is returned as it is (its snapshot is never replaced: the payroll is what was frozen)."""
    _require_role(officer, RUNNERS, _("只有市民政管理员可以生成发放花名册"))
    frozen = PayrollRun.objects.filter(month=str(month), round=0).exclude(snapshot_sha256="").first()
    if frozen is not None:
        return frozen
    _refuse_while_window_end_applies(month)
    run, created = PayrollRun.objects.get_or_create(
        month=str(month), round=0, defaults={"created_by": officer}
    )
    if run.snapshot_sha256:
        return run
    tables = payroll.read_database(month)
    params = frozen_parameters(month)
    frozen = payroll.freeze(snapshot_dir(run.month, run.round), tables, params)
    del tables
    pa.default_memory_pool().release_unused()  # the read's buffers, before the computation needs memory
    return _record_frozen(run, frozen, officer)


def _refuse_while_window_end_applies(month: Period) -> None:
    """An approved end-of-window change for the month still being applied (benefits.apply_window_end)
    would miss the month's payroll: freezing waits until every approval of the month is applied."""
    from doudi.benefits.models import WindowEndApproval

    applying = (
        WindowEndApproval.objects.filter(review__month=month.first_day, finished_at__isnull=True)
        .select_related("district")
        .first()
    )
    if applying is not None:
        raise Conflict(
            _("%(d)s %(m)s 的疫情防控期结束变更已审批、尚在落实中（%(p)s%%），落实完成后再冻结该月发放数据。")
            % {"d": applying.district.name, "m": month, "p": applying.percent},
            path="month",
        )


def frozen_parameters(month: Period) -> dict:
    """The parameters a snapshot of `month` records: the bureau's stored values and declared windows,
    and every district's window as it decides the month (also the end-of-emergency preview's)."""
    from doudi.parameters.selectors import stored_overlay_records, window_overlay_records
    from doudi.regions.selectors import policy_windows_by_district

    return payroll.parameters_json(
        [*window_overlay_records(), *stored_overlay_records()],
        policy_windows_by_district(None, on=month.last_day),
    )


def _record_frozen(run: PayrollRun, frozen: payroll.Frozen, officer: Any) -> PayrollRun:
    """The snapshot on the run (where, its SHA-256, its row counts), audited."""
    with transaction.atomic():
        PayrollRun.objects.filter(pk=run.pk).update(
            snapshot=str(frozen.directory.relative_to(data_dir())),
            snapshot_sha256=frozen.sha256,
            snapshot_rows=frozen.rows,
            frozen_at=timezone.now(),
        )
        run.refresh_from_db()
        record(
            actor=officer,
            action=AuditAction.ACTION,
            obj=run,
            after={"month": run.month, "round": run.round, "frozen": frozen.sha256, "rows": frozen.rows},
            reason="冻结发放数据",
        )
    return run


def request_compute(*, month: Period, officer: Any = None, enqueue: bool = True) -> PayrollRun:
    """生成花名册 from the console: freeze the month (if not yet) and queue its computation."""
    run = freeze_run(month=month, officer=officer)
    return request_compute_run(run=run, officer=officer, enqueue=enqueue)


def request_compute_run(*, run: PayrollRun, officer: Any = None, enqueue: bool = True) -> PayrollRun:
    """Queue the computation of a frozen run (a month's or a follow-up) for `doudi worker`."""
    _require_role(officer, RUNNERS, _("只有市民政管理员可以生成发放花名册"))
    if enqueue and run.status in (RunStatus.FROZEN, RunStatus.FAILED):
        from doudi.payments.tasks import compute_payroll_task

        result = compute_payroll_task.enqueue(run.pk)
        PayrollRun.objects.filter(pk=run.pk).update(task_id=str(result.id))
    return run


def _claim(run: PayrollRun) -> bool:
    now = timezone.now()
    with transaction.atomic():
        run = PayrollRun.objects.select_for_update().get(pk=run.pk)
        if run.status == RunStatus.COMPUTED:
            return False
        if not run.snapshot_sha256:
            raise Conflict(_("该发放花名册尚未冻结数据"), path="run")
        if (
            run.status == RunStatus.RUNNING
            and run.heartbeat_at
            and now - run.heartbeat_at < STALE_AFTER
            and _owner_alive(run.owner)
        ):
            raise PayrollBusy(_("该发放花名册正在计算"), path="run")
        PayrollRun.objects.filter(pk=run.pk).update(
            status=RunStatus.RUNNING,
            stage="reading",
            percent=0,
            error="",
            started_at=now,
            heartbeat_at=now,
            owner=_owner(),
        )
    return True


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


def _owner_alive(owner: str) -> bool:
    """Whether the process named `owner` may still be computing: a process of this host that no
    longer exists (killed) is not; another host's is assumed alive until its heartbeat is stale."""
    host, _sep, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _progress(run: PayrollRun, callback=None):
    def report(stage: str, percent: int) -> None:
        PayrollRun.objects.filter(pk=run.pk).update(stage=stage, percent=percent, heartbeat_at=timezone.now())
        if callback is not None:
            callback(stage, percent)

    return report


def _compute_month(directory: Path, month: Period, report, engine: str | None) -> payroll.Computed:
    """payroll.compute on the batch engine chosen (`engine`, else DOUDI_BATCH_ENGINE): DuckDB computes
    the snapshot in this process; Spark runs the same rules per district (doudi.batch, docs/scale.md)."""
    from doudi.batch import engine_name

    name = engine_name(engine or settings.DOUDI_BATCH_ENGINE)
    if name == "duckdb":
        return payroll.compute(directory, month, progress=report)
    from doudi.batch import engines
    from doudi.batch import payroll as batch

    report("evaluating", 30)
    return batch.compute(
        directory,
        month,
        root=settings.DOUDI_BATCH_DIR or str(data_dir() / "batch"),
        engine=engines.engine(name),
    )


def compute_run(
    run: PayrollRun, *, officer: Any = None, progress=None, engine: str | None = None
) -> PayrollRun:
    """Compute the run's lines from its snapshot alone (the task and `doudi payroll compute` call this).

    Crash-safe: the lines of the run are written in one transaction that first removes any left by an
    interrupted attempt, and the run is marked computed only after; a computed run is returned
    untouched. Killed at any point and started again, it gives exactly the uninterrupted result."""
    if not _claim(run):
        run.refresh_from_db()
        return run
    report = _progress(run, progress)
    try:
        month = Period.parse(run.month)
        directory = data_dir() / run.snapshot
        digest = arrears.snapshot_sha256 if run.is_arrears else payroll.snapshot_sha256
        if digest(directory) != run.snapshot_sha256:
            raise RuntimeError(f"snapshot {run.snapshot} does not match its recorded SHA-256")
        report("reading", 5)
        if run.is_arrears:
            return _compute_arrears(run, directory, report, officer, progress)
        if run.round == 0:
            computed = _compute_month(directory, month, report, engine)
            lines, stopped, timings = computed.lines, computed.stopped, computed.timings
            lines = oneoffs.drop_paid(run.pk, lines)  # a case another run paid since this one was frozen
        else:
            lines, stopped, timings = payroll.follow_up_lines(directory), None, {}
        report("writing", 80)
        pa.default_memory_pool().release_unused()
        clock = time.perf_counter()
        summaries = payroll.batch_summaries(lines, stopped if stopped is not None else _empty_stopped())
        if run.round == 0:
            _write_lines(run, lines)
        else:
            _reissue(run, lines)
        timings["write"] = round(time.perf_counter() - clock, 3)
        _finish(run, lines, summaries, timings, officer)
        if progress is not None:
            progress("finished", 100)
        run.refresh_from_db()
        if run.round == 0:
            signals.announce_computed(run)
        return run
    except Exception:
        PayrollRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=traceback.format_exc()[-4000:], heartbeat_at=timezone.now()
        )
        raise


def _empty_stopped() -> pa.Table:
    return pa.table(
        {
            "district": pa.array([], pa.string()),
            "scheme": pa.array([], pa.string()),
            "amount_fen": pa.array([], pa.int64()),
        }
    )


def _test_pause(written: int) -> None:
    """Tests only: DOUDI_PAYROLL_PAUSE_AFTER=N sleeps once N lines are written (inside the
    transaction), so a test can kill -9 the process mid-run."""
    after = os.environ.get("DOUDI_PAYROLL_PAUSE_AFTER")
    if after and written >= int(after):
        Path(os.environ.get("DOUDI_PAYROLL_PAUSE_FLAG", "/dev/null")).write_text("paused")
        time.sleep(600)


def _write_lines(run: PayrollRun, lines: pa.Table) -> None:
    """The run's lines, replacing any of an interrupted attempt; they appear in one transaction."""
    n = lines.num_rows
    table = lines.add_column(0, "run_id", pa.array(np.full(n, run.pk, dtype=np.int64)))
    table = table.add_column(1, "issue_run_id", pa.array(np.full(n, run.pk, dtype=np.int64)))
    table = table.select(payroll.LINE_SCHEMA.names).cast(payroll.LINE_SCHEMA)
    db_table = PaymentLine._meta.db_table
    from doudi.verification.dataio import adbc_connection, is_postgres

    if is_postgres():
        with adbc_connection() as con:
            with con.cursor() as cur:
                fresh = partitions.fresh_partition(cur, run.month, run.pk)
                if fresh:
                    partitions.create_staging(cur, run.month)
                else:
                    cur.execute(f"DELETE FROM {db_table} WHERE run_id = {int(run.pk)}")
                    written = 0
                    for batch in table.to_batches(max_chunksize=200_000):
                        cur.adbc_ingest(db_table, pa.Table.from_batches([batch]), mode="append")
                        written += batch.num_rows
                        _test_pause(written)
            con.commit()
        if fresh:
            # A month with no line yet: its partition-to-be (committed, not attached: no query sees
            # it) is loaded bare by two connections at once, indexed once by two, then attached in one
            # transaction — the lines appear all together or not at all.
            partitions.load_in_lanes(run.month, table, _test_pause)
            partitions.build_indexes(run.month)
            with adbc_connection() as con:
                with con.cursor() as cur:
                    partitions.attach(cur, run.month, _one_off_keys(table))
                con.commit()
        return
    names = table.column_names
    sql = f"INSERT INTO {db_table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {db_table} WHERE run_id = %s", [run.pk])
        written = 0
        for batch in table.to_batches(max_chunksize=5_000):
            cur.executemany(sql, list(zip(*(c.to_pylist() for c in batch.columns), strict=True)))
            written += batch.num_rows
            _test_pause(written)


def _one_off_keys(lines: pa.Table) -> list[tuple[int, str]]:
    """(case id, scheme) of the one-off payments among `lines` (a handful in a month's payroll)."""
    wanted = pa.compute.is_in(lines.column("scheme"), value_set=pa.array(partitions.ONE_OFF))
    one_offs = lines.filter(wanted)
    return list(
        zip(one_offs.column("beneficiary_id").to_pylist(), one_offs.column("scheme").to_pylist(), strict=True)
    )


def _reissue(run: PayrollRun, lines: pa.Table) -> None:
    """A follow-up run takes the lines it froze (failed, or held for want of an account) with their
    corrected accounts in one transaction; a line settled meanwhile is left alone."""
    with transaction.atomic():
        for row in lines.to_pylist():  # failed lines of one month: a handful, not the population
            PaymentLine.objects.filter(REISSUABLE, pk=row["line_id"]).update(
                issue_run=run,
                status=LineStatus.PENDING,
                flag=row["flag"],
                account_id=row["account_id"],
                bank_code=row["bank_code"],
                account_number=row["account_number"],
                holder_name=row["holder_name"],
            )
            _test_pause(1)


def _finish(run: PayrollRun, lines: pa.Table, summaries: dict, timings: dict, officer: Any) -> None:
    from doudi.regions.models import Region

    districts = {r.code: r for r in Region.objects.filter(code__in=list(summaries))}
    now = timezone.now()
    with transaction.atomic():
        # Batches are created only here, in the transaction that marks the run computed: a run
        # killed before has none, so there is nothing to clean up.
        run = PayrollRun.objects.select_for_update().get(pk=run.pk)
        for code, schemes in sorted(summaries.items()):
            batch = PayrollBatch.objects.create(
                run=run,
                district=districts[code],
                line_count=sum(s["count"] for s in schemes.values()),
                total_fen=sum(s["total_fen"] for s in schemes.values()),
                summary=schemes,
            )
            _transition(batch, "compute", "", BatchStatus.COMPUTED, None, now, "")
        held = _count(lines, "status", "held")
        totals = int(pa.compute.sum(lines.column("amount_fen")).as_py() or 0) if lines.num_rows else 0
        PayrollRun.objects.filter(pk=run.pk).update(
            status=RunStatus.COMPUTED,
            stage="finished",
            percent=100,
            computed_at=now,
            heartbeat_at=now,
            line_count=lines.num_rows,
            total_fen=totals,
            held_count=held,
            timings=timings,
        )
        record(
            actor=officer,
            action=AuditAction.ACTION,
            obj=run,
            after={
                "month": run.month,
                "round": run.round,
                "lines": lines.num_rows,
                "total_fen": totals,
                "held": held,
            },
            reason="计算发放花名册",
        )


def _count(table: pa.Table, column: str, value: str) -> int:
    if not table.num_rows:
        return 0
    return int(pa.compute.sum(pa.compute.equal(table.column(column), value)).as_py() or 0)


def _transition(batch: PayrollBatch, action: str, from_state: str, to_state: str, by: Any, at, reason: str):
    seq = batch.seq + 1
    PayrollBatch.objects.filter(pk=batch.pk).update(seq=seq)
    batch.seq = seq
    return PayrollTransition.objects.create(
        batch=batch,
        seq=seq,
        action=action,
        from_state=from_state,
        to_state=to_state,
        by=by if getattr(by, "pk", None) else None,
        by_label=getattr(by, "username", None) or "system",
        at=at,
        reason=reason,
    )


# --- the approval tiers --------------------------------------------------------------------------------


def _signers(batch: PayrollBatch) -> set[int]:
    return set(
        PayrollTransition.objects.filter(batch=batch, by__isnull=False)
        .exclude(action="compute")
        .values_list("by_id", flat=True)
    )


@transaction.atomic
def sign_batch(*, batch: PayrollBatch, action: str, officer: Any, note: str = "") -> PayrollBatch:
    """One tier of the maker-checker approval: `submit` (区县经办人 prepares), `approve` (区县审批人),
    `confirm` (市财政/市民政财务审核). Each tier only from the one before; nobody signs twice."""
    if action not in TIERS:
        raise ValidationError({"action": _("未知的审批操作")})
    from_state, to_state, role = TIERS[action]
    if officer is None or not getattr(officer, "is_authenticated", False) or not officer.has_role(role):
        raise PermissionDenied(_("您没有此审批环节的权限（需要：%(role)s）") % {"role": Role(role).label})
    batch = PayrollBatch.objects.select_for_update().select_related("district", "run").get(pk=batch.pk)
    region = getattr(officer, "region", None)
    if region is None or not batch.district.path.startswith(region.path):
        raise PermissionDenied(_("该批次不在您的管辖范围内"))
    if batch.run.status != RunStatus.COMPUTED:
        raise Conflict(_("发放花名册尚未计算完成"), path="batch")
    if batch.status != from_state:
        raise Conflict(
            _("该批次当前状态为“%(state)s”，不能执行此操作：审批环节不能跳过或重复。")
            % {"state": BatchStatus(batch.status).label},
            path="batch",
        )
    if officer.pk in _signers(batch):
        raise PermissionDenied(_("同一人不能在同一批次签署两个环节：经办人不能审批，审批人不能确认。"))
    now = timezone.now()
    _transition(batch, action, from_state, to_state, officer, now, note[:500])
    PayrollBatch.objects.filter(pk=batch.pk).update(
        status=to_state, **({"prepared_by": officer} if action == "submit" else {})
    )
    batch.refresh_from_db()
    record(
        actor=officer,
        action=AuditAction.ACTION,
        obj=batch,
        region_path=batch.district.path,
        before={"status": from_state},
        after={
            "status": to_state,
            "run": str(batch.run),
            "lines": batch.line_count,
            "total_fen": batch.total_fen,
        },
        reason=note[:500],
    )
    return batch


# --- bank files ------------------------------------------------------------------------------------


def issue_bank_files(*, run: PayrollRun, officer: Any = None) -> list[BankFile]:
    """生成代发文件: one file per bank, once every district batch of the run is confirmed.

    Idempotent and crash-safe: files are written under a temporary name and renamed; the lines become
    `issued` and the BankFile rows are recorded in one transaction. Run again, it writes the same bytes
    (the file depends only on the lines) and adds nothing."""
    _require_role(officer, FILE_MAKERS, _("只有市财政/市民政财务审核人员可以生成代发文件"))
    run = PayrollRun.objects.get(pk=run.pk)
    if run.status != RunStatus.COMPUTED:
        raise Conflict(_("发放花名册尚未计算完成"), path="run")
    pending = run.batches.exclude(status=BatchStatus.CONFIRMED).select_related("district")
    if pending.exists():
        names = "、".join(b.district.name for b in pending[:5])
        raise Conflict(_("以下区县的批次尚未经市财政确认：%(names)s") % {"names": names}, path="run")
    existing = list(BankFile.objects.filter(run=run).select_related("bank"))
    if existing:
        return existing
    from doudi.verification.dataio import is_postgres

    banks = {b.code: b for b in Bank.objects.all()}
    if not is_postgres():  # one connection: the files first, then one transaction
        written = _write_bank_files(run, banks)
        with transaction.atomic():
            return _record_bank_files(run, written, officer, mark=True)
    # PostgreSQL: the server marks the lines issued while this process reads them (through another
    # connection, which sees them as they were) and writes the files: both cores at work. The mark and
    # the files' rows commit together once the files are on disk; a failure leaves neither.
    with ThreadPoolExecutor(max_workers=1) as pool, transaction.atomic():
        writing = pool.submit(_in_language(translation.get_language(), _write_bank_files), run, banks)
        PayrollRun.objects.select_for_update().filter(pk=run.pk).exists()  # one issuer at a time
        if not BankFile.objects.filter(run=run).exists():  # else another process finished first
            _mark_issued(run)
        written = writing.result()
        return _record_bank_files(run, written, officer, mark=False)


def _in_language(language: str | None, function):
    """`function` run in `language` (Django's active language is per thread)."""

    def call(*args):
        with translation.override(language):
            return function(*args)

    return call


def _mark_issued(run: PayrollRun) -> None:
    from django.db.models import F

    PaymentLine.objects.filter(issue_run=run, status=LineStatus.PENDING).update(
        status=LineStatus.ISSUED, attempts=F("attempts") + 1
    )


def _write_bank_files(run: PayrollRun, banks: dict[str, Bank]) -> list[tuple]:
    """Read the run's lines (pending or issued), write one file per bank: what each file holds.
    No use of Django's connection (it may run in a thread)."""
    templates = [b.file_template or bankfiles.DEFAULT_TEMPLATE for b in banks.values()]
    lines = bankfiles.issued_lines(
        run.pk, [LineStatus.PENDING, LineStatus.ISSUED], bankfiles.needed_columns(templates)
    )
    codes = sorted(set(pa.compute.unique(lines.column("bank_code")).to_pylist()))
    missing = [c for c in codes if c not in banks]
    if missing:
        raise Conflict(_("未配置的代发银行：%(codes)s") % {"codes": ", ".join(missing)}, path="run")
    out_dir = data_dir() / "bankfiles" / f"{run.month}-r{run.round}"
    order = bankfiles.file_order(lines)
    bank_of = pa.compute.take(lines.column("bank_code").combine_chunks(), order)
    written = []
    for code in codes:
        bank = banks[code]
        rows = order.filter(pa.compute.equal(bank_of, code))  # this bank's lines, in the file's order
        template = bank.file_template or bankfiles.DEFAULT_TEMPLATE  # a bank that asked for nothing
        name = bankfiles.file_name(template, run=run, bank=bank)
        parts = bankfiles.render_parts(template, lines, rows)
        path, digest = bankfiles.write_atomically(out_dir / name, parts)
        total = int(pa.compute.sum(pa.compute.take(lines.column("amount_fen"), rows)).as_py() or 0)
        written.append((bank, name, path, digest, len(rows), total))
    return written


def _record_bank_files(run: PayrollRun, written: list[tuple], officer: Any, *, mark: bool) -> list[BankFile]:
    """The files' rows and audit entries (and the lines marked issued when `mark`), inside the
    caller's transaction."""
    now = timezone.now()
    if BankFile.objects.filter(run=run).exists():  # another process finished first
        return list(BankFile.objects.filter(run=run).select_related("bank"))
    files = []
    for bank, name, path, digest, count, total in written:
        files.append(
            BankFile.objects.create(
                run=run,
                bank=bank,
                file_name=name,
                path=str(path.relative_to(data_dir())),
                sha256=digest,
                line_count=count,
                total_fen=total,
                created_at=now,
                created_by=officer if getattr(officer, "pk", None) else None,
            )
        )
        record(
            actor=officer,
            action=AuditAction.ACTION,
            obj=files[-1],
            after={
                "run": str(run),
                "bank": bank.code,
                "lines": count,
                "total_fen": total,
                "sha256": digest,
            },
            reason="生成代发文件",
        )
    if mark:
        _mark_issued(run)
    return files


def record_download(*, bank_file: BankFile, officer: Any) -> bytes:
    """下载代发文件 (EXPORT in the audit log: the file carries account numbers in clear)."""
    _require_role(officer, FILE_MAKERS, _("只有市财政/市民政财务审核人员可以下载代发文件"))
    content = (data_dir() / bank_file.path).read_bytes()
    if bankfiles.sha256(content) != bank_file.sha256:
        raise Conflict(_("代发文件与生成时记录的 SHA-256 不一致，请勿使用"), path="file")
    with transaction.atomic():
        record(
            actor=officer,
            action=AuditAction.EXPORT,
            obj=bank_file,
            after={"file": bank_file.file_name, "sha256": bank_file.sha256, "lines": bank_file.line_count},
        )
    return content


# --- the bank's return ---------------------------------------------------------------------------


def import_return(
    *, bank_file: BankFile, content: bytes, file_name: str, officer: Any = None
) -> ReturnImport:
    """导入回盘: every line of the file is checked first (the line is in this bank file and issued,
    account and amount as sent, the result known, a failure with its reason code); one problem
    refuses the whole file and nothing is settled. Returns the ReturnImport either way."""
    _require_role(officer, FILE_MAKERS, _("只有市财政/市民政财务审核人员可以导入回盘文件"))
    parsed, problems = bankfiles.parse_return(content)
    refs = [r["ref"] for r in parsed]
    lines = {
        line.ref: line
        for line in PaymentLine.objects.filter(
            ref__in=refs, issue_run=bank_file.run, bank_code=bank_file.bank.code
        )
    }
    settle: list[tuple[PaymentLine, dict]] = []
    for r in parsed:
        line = lines.get(r["ref"])
        where = {"row": r["row"]}
        if line is None:
            problems.append({**where, "field": "ref", "message": _("该流水号不在此代发文件中")})
            continue
        if r["account_number"] != line.account_number:
            problems.append({**where, "field": "account_number", "message": _("账号与代发文件不一致")})
        if r["amount_fen"] is not None and r["amount_fen"] != line.amount_fen:
            problems.append({**where, "field": "amount", "message": _("金额与代发文件不一致")})
        if line.status == LineStatus.PAID and r["result"] == "failed":
            problems.append({**where, "field": "result", "message": _("该笔已到账，不能再改为失败")})
        elif line.status == LineStatus.FAILED and r["result"] == "paid":
            problems.append({**where, "field": "result", "message": _("该笔已记为失败，不能再记为到账")})
        elif line.status not in (LineStatus.ISSUED, LineStatus.PAID, LineStatus.FAILED):
            problems.append({**where, "field": "ref", "message": _("该笔尚未报送银行")})
        settle.append((line, r))
    digest = bankfiles.sha256(content)
    now = timezone.now()
    with transaction.atomic():
        if problems:
            problems.sort(key=lambda p: (p["row"], p["field"]))
            imported = ReturnImport.objects.create(
                bank_file=bank_file,
                file_name=file_name[:200],
                sha256=digest,
                status=ReturnStatus.REFUSED,
                problems=problems[:1000],
                error_count=len(problems),
                imported_by=officer if getattr(officer, "pk", None) else None,
                imported_at=now,
            )
        else:
            paid = failed = 0
            paid_ids: list[int] = []  # one-off lines paid now: their cases close
            for line, r in settle:
                if line.status != LineStatus.ISSUED:
                    continue  # the same answer imported again: nothing changes
                if r["result"] == "paid":
                    PaymentLine.objects.filter(pk=line.pk, status=LineStatus.ISSUED).update(
                        status=LineStatus.PAID, settled_at=now
                    )
                    paid += 1
                    if line.scheme in oneoffs.SCHEMES:
                        paid_ids.append(line.pk)
                else:
                    PaymentLine.objects.filter(pk=line.pk, status=LineStatus.ISSUED).update(
                        status=LineStatus.FAILED,
                        failure_code=r["code"],
                        failure_reason=r["reason"][:200],
                        settled_at=now,
                    )
                    failed += 1
            # A temporary-assistance / 一事一议 case is closed once its money has arrived.
            oneoffs.close_paid_cases(paid_ids, officer)
            imported = ReturnImport.objects.create(
                bank_file=bank_file,
                file_name=file_name[:200],
                sha256=digest,
                status=ReturnStatus.LOADED,
                paid_count=paid,
                failed_count=failed,
                imported_by=officer if getattr(officer, "pk", None) else None,
                imported_at=now,
            )
            if failed:
                announce_return(imported)  # the households are told (portal SMS), once committed
        record(
            actor=officer,
            action=AuditAction.IMPORT,
            obj=imported,
            after={
                "bank_file": bank_file.pk,
                "status": imported.status,
                "paid": imported.paid_count,
                "failed": imported.failed_count,
                "problems": imported.error_count,
                "sha256": digest,
            },
        )
    return imported


# --- follow-up runs ----------------------------------------------------------------------------------


def create_follow_up(*, month: Period, officer: Any = None) -> PayrollRun:
    """补发: a follow-up run of the month that re-issues the failed lines whose payee has since got a
    corrected (different, active) account, and the lines held only because the payee had no account
    and now has one. Paid lines are never taken. Frozen like any run."""
    _require_role(officer, RUNNERS, _("只有市民政管理员可以生成补发批次"))
    open_run = (
        PayrollRun.objects.filter(month=str(month), round__gt=0, kind=RunKind.PAYROLL)
        .exclude(status=RunStatus.COMPUTED)
        .first()
    )
    if open_run is not None:
        return open_run
    last = PayrollRun.objects.filter(month=str(month)).order_by("-round").first()
    if (
        last is None
        or not PayrollRun.objects.filter(month=str(month), round=0, status=RunStatus.COMPUTED).exists()
    ):
        raise Conflict(_("该月的发放花名册尚未计算，不能补发"), path="month")
    table = _correctable_failures(month)
    if not table.num_rows:
        raise Conflict(_("没有账户已更正的失败发放，无需补发"), path="month")
    with transaction.atomic():
        run = PayrollRun.objects.create(
            month=str(month),
            round=last.round + 1,
            created_by=officer if getattr(officer, "pk", None) else None,
        )
    return _record_frozen(run, payroll.freeze_follow_up(snapshot_dir(run.month, run.round), table), officer)


# Lines a follow-up run may take: returned as failed, or held only for want of an account.
# REISSUE_CANDIDATES says the same to the database, so the follow-up's query reads the partial index.
REISSUABLE = (Q(status=LineStatus.FAILED) | Q(status=LineStatus.HELD, flag=LineFlag.NO_ACCOUNT)) & (
    REISSUE_CANDIDATES
)


def _correctable_failures(month: Period) -> pa.Table:
    failed = PaymentLine.objects.filter(REISSUABLE, month=str(month)).order_by("pk")
    rows = []
    active = {
        a.person_id: a
        for a in PayeeAccount.objects.filter(
            status=AccountStatus.ACTIVE, person_id__in=failed.values("person_id")
        ).select_related("bank")
    }
    for line in failed.only(
        "pk",
        "person_id",
        "account_id",
        "scheme",
        "beneficiary_id",
        "district",
        "amount_fen",
        "status",
        "flag",
    ):
        account = active.get(line.person_id)
        if account is None or account.pk == line.account_id:
            continue  # not corrected yet: it waits for the next follow-up
        rows.append(
            {
                "line_id": line.pk,
                "beneficiary_id": line.beneficiary_id,
                "scheme": line.scheme,
                "district": line.district,
                "amount_fen": line.amount_fen,
                "status": "pending",
                "flag": "" if line.flag == LineFlag.NO_ACCOUNT else line.flag,
                "change": "same",
                "previous_fen": None,
                "account_id": account.pk,
                "bank_code": account.bank.code,
                "account_number": account.account_number,
                "holder_name": account.holder_name,
            }
        )
    return pa.Table.from_pylist(rows, schema=payroll.FOLLOW_UP_SCHEMA)


# --- banks ---------------------------------------------------------------------------------------------


@transaction.atomic
def save_bank(*, bank: Bank | None, data: dict[str, Any], officer: Any) -> Bank:
    """配置代发银行: a bank's code, name, account formats and file template (validated whole)."""
    _require_role(officer, BANK_ADMINS, _("只有市民政管理员可以配置代发银行"))
    errors = bankfiles.template_errors(data.get("file_template"))
    if errors:
        raise ValidationError({"file_template": errors})
    before = None
    if bank is None:
        bank = Bank()
    else:
        bank = Bank.objects.select_for_update().get(pk=bank.pk)
        before = {"code": bank.code, "name": bank.name, "file_template": bank.file_template}
    for name in ("code", "name", "account_lengths", "uses_luhn", "file_template", "active"):
        if name in data:
            setattr(bank, name, data[name])
    bank.full_clean()
    bank.save()
    record(
        actor=officer,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        obj=bank,
        before=before,
        after={"code": bank.code, "name": bank.name, "file_template": bank.file_template},
    )
    return bank


def batch_totals(run: PayrollRun) -> dict[str, int]:
    agg = PaymentLine.objects.filter(issue_run=run).aggregate(
        n=Count("pk"), total=Sum("amount_fen"), held=Count("pk", filter=Q(status=LineStatus.HELD))
    )
    return {"lines": agg["n"] or 0, "total_fen": agg["total"] or 0, "held": agg["held"] or 0}


# --- arrears (补发差额) -----------------------------------------------------------------------------

MAX_ARREARS_MONTHS = 36
_PAID_SQL = (
    "SELECT beneficiary_id, scheme, MIN(district) AS district, CAST(SUM(amount_fen) AS BIGINT) AS amount_fen, "
    "MIN(household_id) AS household_id, MIN(person_id) AS person_id, MIN(region_id) AS region_id "
    "FROM payments_paymentline WHERE month = '{month}' AND scheme IN ({schemes}) GROUP BY beneficiary_id, scheme"
)


def arrears_months(first: Period, last: Period) -> list[Period]:
    """The owed months first…last, checked: in order, at most MAX_ARREARS_MONTHS."""
    if last < first:
        raise ValidationError({"to": _("截止月份不能早于起始月份。")})
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count > MAX_ARREARS_MONTHS:
        raise ValidationError({"to": _("一次最多补发 %(n)s 个月的差额。") % {"n": MAX_ARREARS_MONTHS}})
    return [first.shift(k) for k in range(count)]


def create_arrears(
    *, first: Period, last: Period, month: Period | None = None, officer: Any = None
) -> PayrollRun:
    """补发差额: an arrears run for the owed months first…last, paid in `month` (default: this month).

    Every owed month must have its payroll computed. The run freezes, for each owed month, that
    month's population with the parameters in force now and what was already paid or issued for it
    (arrears.py); it is computed, approved by the same tiers and paid by bank files like any run.
    One arrears run is open (not yet computed) at a time — a database constraint: two computed
    side by side could each take the other's months as unpaid."""
    _require_role(officer, RUNNERS, _("只有市民政管理员可以生成补发差额"))
    months = arrears_months(first, last)
    paying = month or Period.of(timezone.localdate())
    if paying < last:
        raise ValidationError({"month": _("补发差额的发放月份不能早于所补的月份（%(m)s）。") % {"m": last}})
    open_run = PayrollRun.objects.filter(kind=RunKind.ARREARS).exclude(status=RunStatus.COMPUTED).first()
    if open_run is not None and not open_run.snapshot_sha256:
        open_run.delete()  # a freeze interrupted before it was recorded: nothing refers to it
        open_run = None
    if open_run is not None:
        if (open_run.arrears_from, open_run.arrears_to) == (str(first), str(last)):
            return open_run
        raise Conflict(
            _("补发差额 %(run)s（%(a)s 至 %(b)s）尚未计算完成，请先完成它。")
            % {"run": open_run, "a": open_run.arrears_from, "b": open_run.arrears_to},
            path="from",
        )
    sources = {
        r.month: r
        for r in PayrollRun.objects.filter(
            kind=RunKind.PAYROLL, round=0, status=RunStatus.COMPUTED, month__in=[str(m) for m in months]
        )
    }
    missing = [str(m) for m in months if str(m) not in sources]
    if missing:
        raise Conflict(
            _("以下月份尚未计算发放花名册，不能补发差额：%(months)s") % {"months": "、".join(missing)},
            path="from",
        )
    try:
        with transaction.atomic():
            agg = PayrollRun.objects.aggregate(seq=models.Max("arrears_seq"))
            last_round = (
                PayrollRun.objects.filter(month=str(paying)).aggregate(r=models.Max("round"))["r"] or 0
            )
            run = PayrollRun.objects.create(
                month=str(paying),
                round=last_round + 1,
                kind=RunKind.ARREARS,
                arrears_from=str(first),
                arrears_to=str(last),
                arrears_seq=(agg["seq"] or 0) + 1,
                created_by=officer if getattr(officer, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise Conflict(_("另一个补发差额刚刚生成，请刷新后重试。"), path="from") from exc
    return _record_frozen(run, _freeze_arrears(run, months, sources), officer)


def _freeze_arrears(run: PayrollRun, months: list[Period], sources: dict[str, PayrollRun]) -> payroll.Frozen:
    from doudi.parameters.selectors import stored_overlay_records, window_overlay_records
    from doudi.regions.selectors import policy_windows_by_district
    from doudi.verification import dataio

    queries = {"accounts": payroll._queries(months[0])["accounts"]}
    for m in months:
        # Only the schemes the payroll's rules compute: a one-off payment is no entitlement to re-evaluate.
        schemes = ", ".join(f"'{s}'" for s in payroll.SCHEMES)
        queries[str(m)] = (_PAID_SQL.format(month=m, schemes=schemes), arrears.PAID_SCHEMA)
        queries[f"{m} enrolments"] = payroll._queries(m)["enrolments"]
    tables = dataio.read_consistent(queries)
    records = [*window_overlay_records(), *stored_overlay_records()]
    owed = []
    for m in months:
        source = sources[str(m)]
        directory = data_dir() / source.snapshot
        if payroll.snapshot_sha256(directory) != source.snapshot_sha256:
            raise Conflict(_("%(m)s 的冻结数据与记录的 SHA-256 不一致") % {"m": m}, path="from")
        owed.append(
            arrears.OwedMonth(
                month=m,
                source=directory,
                source_sha256=source.snapshot_sha256,
                paid=tables[str(m)],
                paid_parameters=_paid_parameters(m, directory),
                parameters=payroll.parameters_json(records, policy_windows_by_district(None, on=m.last_day)),
                enrolments=tables[f"{m} enrolments"],
                joined=_joined_households(m, directory, tables[f"{m} enrolments"]),
            )
        )
    manifest = {
        "seq": run.arrears_seq,
        "paying_month": run.month,
        "from": run.arrears_from,
        "to": run.arrears_to,
    }
    return arrears.freeze(snapshot_dir(run.month, run.round), owed, tables["accounts"], manifest)


def _joined_households(month: Period, source: Path, enrolments: pa.Table) -> dict[str, pa.Table] | None:
    """The households enrolled for `month` by the ledger now that its frozen payroll does not hold (an
    enrolment decided after the month was paid, from a month already paid), as the registry has them."""
    from doudi.verification import dataio

    frozen = pq.read_table(source / "households.parquet", columns=["household_id"]).column("household_id")
    wanted = pc.filter(
        enrolments.column("household_id"),
        pc.invert(pc.is_in(enrolments.column("household_id"), value_set=frozen)),
    )
    ids = sorted(set(wanted.to_pylist()))
    if not ids:
        return None
    queries = payroll._queries(month, households=ids)
    tables = dataio.read_consistent(
        {k: queries[k] for k in ("households", "members", "categories", "villages")}
    )
    tables["enrolments"] = enrolments.filter(
        pc.is_in(enrolments.column("household_id"), value_set=pa.array(ids))
    )
    tables["accounts"] = payroll.ACCOUNT_SCHEMA.empty_table()
    tables["previous"] = payroll.PREVIOUS_SCHEMA.empty_table()
    snapshot = payroll.build_snapshot(tables)
    return {name: snapshot[name] for name in ("households.parquet", "persons.parquet")}


def _paid_parameters(month: Period, source: Path) -> Path:
    """The parameters the month was last paid with: those of the latest computed arrears run that
    covered it, else its own payroll's."""
    for run in PayrollRun.objects.filter(
        kind=RunKind.ARREARS,
        status=RunStatus.COMPUTED,
        arrears_from__lte=str(month),
        arrears_to__gte=str(month),
    ).order_by("-arrears_seq"):
        path = data_dir() / run.snapshot / str(month) / "parameters.json"
        if path.exists():
            return path
    return source / "parameters.json"


def _scheme_labels() -> dict[str, str]:
    from django.utils import translation

    with translation.override("zh-hans"):
        return {code: str(label) for code, label in PayScheme.choices}


def _compute_arrears(run: PayrollRun, directory: Path, report, officer: Any, progress) -> PayrollRun:
    """The arrears run's lines and reductions from its snapshot, written in one transaction that
    first removes those of an interrupted attempt (so a killed run computed again gives the same)."""
    from doudi.verification import dataio

    computed = arrears.compute(directory, run.arrears_seq, _scheme_labels(), progress=report)
    report("writing", 80)
    clock = time.perf_counter()
    lines = computed.lines
    n = lines.num_rows
    table = lines.add_column(0, "run_id", pa.array(np.full(n, run.pk, dtype=np.int64)))
    table = table.add_column(1, "issue_run_id", pa.array(np.full(n, run.pk, dtype=np.int64)))
    table = table.select(arrears.ARREARS_LINE_SCHEMA.names).cast(arrears.ARREARS_LINE_SCHEMA)
    reductions = computed.reductions
    reductions = reductions.add_column(
        0, "run_id", pa.array(np.full(reductions.num_rows, run.pk, dtype=np.int64))
    ).cast(arrears.REDUCTION_SCHEMA)
    dataio.replace_rows(
        [(PaymentLine._meta.db_table, "run_id", run.pk), (ArrearsReduction._meta.db_table, "run_id", run.pk)],
        [(PaymentLine._meta.db_table, table), (ArrearsReduction._meta.db_table, reductions)],
    )
    summaries = payroll.batch_summaries(lines, _empty_stopped())
    timings = {**computed.timings, "write": round(time.perf_counter() - clock, 3)}
    _finish(run, lines, summaries, timings, officer)
    if progress is not None:
        progress("finished", 100)
    run.refresh_from_db()
    return run
