"""Supervision's writes: running the checks, working a finding through its states, recoveries and
repayments, and the staff-relatives register (近亲属备案). One transaction per business action; each
finding's step is a row of the insert-only `FindingTransition` ledger and an audit entry.

A finding's states (docs/supervision.md):

    open ──assign──▶ assigned ──assign──▶ assigned (another investigator)
    open|assigned ──confirm──▶ confirmed ──(repaid in full)──▶ recovered
    open|assigned ──explain──▶ explained ──reopen──▶ open

Confirming names the amount to recover (exact fen, 0 when nothing is owed); a positive amount opens a
`Recovery`, and the repayment that completes it moves the finding to `recovered`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import SUPERVISOR_ROLES, Role
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.errors import Conflict
from doudi.core.fields import clean_day, clean_field_text, raise_field_errors, require
from doudi.core.scoping import region_in_scope
from doudi.policy.money import yuan_to_fen
from doudi.supervision import checks
from doudi.supervision.models import (
    CheckRun,
    Finding,
    FindingState,
    FindingTransition,
    Kinship,
    Recovery,
    Repayment,
    StaffRelative,
)

# The largest sum a recovery or repayment may name: 100 million yuan, in fen.
MAX_FEN = 100_000_000 * 100
SUPERVISORS = tuple(SUPERVISOR_ROLES)


def _label(user: Any) -> str:
    return getattr(user, "byline", "") or str(user or "system")


# --- running the checks ------------------------------------------------------------------------------------


def run_checks(
    month: str,
    *,
    by: Any = None,
    trigger: str = "command",
    only: Iterable[str] | None = None,
    progress: Callable[[str, dict], None] | None = None,
) -> CheckRun:
    """Run the checks over a month's payroll and file what they find. A finding found before (same key)
    is not added again: its `last_run` moves on, its state and history stay."""
    m = checks.Month.parse(month)
    run = CheckRun.objects.create(month=m.text, trigger=trigger, started_at=timezone.now(), by=by)
    results: dict[str, dict] = {}
    names = list(only) if only else list(checks.CHECKS)
    try:
        with checks.scan_settings():
            for name in names:
                clock, read = time.perf_counter(), m.read_seconds
                hits = checks.CHECKS[name](m)
                found = time.perf_counter() - clock
                new = _file(run, hits)
                results[name] = {
                    "found": len(hits),
                    "new": new,
                    "seconds": round(found, 3),  # the query, and reading the month's lines if it came first
                    "read_seconds": round(m.read_seconds - read, 3),
                    "file_seconds": round(time.perf_counter() - clock - found, 3),
                }
                if progress is not None:
                    progress(name, results[name])
    except Exception as exc:
        CheckRun.objects.filter(pk=run.pk).update(
            results=results, error=repr(exc)[:4000], finished_at=timezone.now()
        )
        raise
    finally:
        m.close()
    CheckRun.objects.filter(pk=run.pk).update(results=results, finished_at=timezone.now())
    run.refresh_from_db()
    return run


def _file(run: CheckRun, hits: list[checks.Hit]) -> int:
    """Insert the hits not filed yet (by key), each with its first ledger row; refresh the others."""
    new = 0
    for chunk in checks._chunks(hits, 2000):
        by_key = {h.key: h for h in chunk}
        with transaction.atomic():
            known = set(Finding.objects.filter(key__in=by_key).values_list("key", flat=True))
            if known:
                Finding.objects.filter(key__in=known).update(last_run=run)
            now = timezone.now()
            Finding.objects.bulk_create(
                [
                    Finding(
                        key=h.key,
                        check_code=h.check,
                        month=run.month,
                        region_id=h.region_id,
                        district=h.district,
                        person_id=h.person_id,
                        household_id=h.household_id,
                        case_id=h.case_id,
                        amount_fen=h.amount_fen,
                        evidence=h.evidence,
                        first_run=run,
                        last_run=run,
                        found_at=now,
                    )
                    for key, h in by_key.items()
                    if key not in known
                ],
                ignore_conflicts=True,  # a run side by side filed it a moment ago: theirs stands
            )
            created = list(Finding.objects.filter(key__in=by_key, first_run=run).values_list("id", flat=True))
            FindingTransition.objects.bulk_create(
                [
                    FindingTransition(
                        finding_id=fid,
                        seq=1,
                        action="found",
                        to_state=FindingState.OPEN,
                        by_label=_("监督检查（%(month)s）") % {"month": run.month},
                        at=now,
                    )
                    for fid in created
                ]
            )
            new += len(created)
    return new


# --- working a finding -------------------------------------------------------------------------------------


def is_supervisor(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*SUPERVISORS)


def can_read_all(user: Any) -> bool:
    """The whole queue of one's region: supervisors and auditors (the others see what is assigned to them)."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*SUPERVISORS, Role.AUDITOR)


def assignees(by: Any, finding: Finding) -> list[Any]:
    """Who may investigate: active staff of the finding's region or above it, inside the supervisor's."""
    from doudi.accounts.models import User

    path = finding.region.path
    ancestors = [path[: i + 1] for i, ch in enumerate(path) if ch == "/"]
    return list(
        User.objects.filter(
            is_active=True, region__path__in=ancestors, region__path__startswith=by.region.path
        )
        .select_related("region")
        .order_by("region__path", "username")[:200]
    )


def can_work(user: Any, finding: Finding) -> bool:
    """The supervisor of the finding's region, or the investigator it is assigned to."""
    if not region_in_scope(user, finding.region):
        return False
    return is_supervisor(user) or (finding.assigned_to_id is not None and finding.assigned_to_id == user.pk)


def _locked(finding: Finding, version: int | None) -> Finding:
    current = Finding.objects.select_for_update().get(pk=finding.pk)
    if version is not None and current.version != version:
        raise Conflict(_("该线索已被其他人处理，请刷新后重试。"))
    return current


def _step(
    finding: Finding,
    *,
    action: str,
    to: str,
    by: Any,
    reason: str = "",
    assigned_label: str = "",
    amount_fen: int | None = None,
    **changes: Any,
) -> Finding:
    before = {
        "state": finding.state,
        "assigned_to": finding.assigned_to_id,
        "recover_fen": finding.recover_fen,
    }
    seq = finding.transitions.count() + 1
    FindingTransition.objects.create(
        finding=finding,
        seq=seq,
        action=action,
        from_state=finding.state,
        to_state=to,
        by=by if getattr(by, "pk", None) else None,
        by_label=_label(by),
        at=timezone.now(),
        reason=reason,
        assigned_label=assigned_label,
        amount_fen=amount_fen,
    )
    for name, value in changes.items():
        setattr(finding, name, value)
    finding.state = to
    finding.version += 1
    finding.save()
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=finding,
        before=before,
        after={"state": to, "assigned_to": finding.assigned_to_id, "recover_fen": finding.recover_fen},
        reason=reason or action,
    )
    return finding


def _conflict_unless(finding: Finding, *states: str) -> None:
    if finding.state not in states:
        raise Conflict(
            _("线索当前状态为“%(state)s”，不能执行此操作。") % {"state": finding.get_state_display()},
            path="state",
        )


@transaction.atomic
def assign(*, finding: Finding, to: Any, by: Any, reason: str = "", version: int | None = None) -> Finding:
    """分派: the supervisor hands the finding to an investigator of the region (another may take over)."""
    require(is_supervisor(by) and region_in_scope(by, finding.region))
    finding = _locked(finding, version)
    _conflict_unless(finding, FindingState.OPEN, FindingState.ASSIGNED)
    errors: dict[str, str] = {}
    reason = clean_field_text(errors, "reason", reason, required=False, max_length=500)
    if to is None or not getattr(to, "is_active", False) or getattr(to, "region_id", None) is None:
        errors["assigned_to"] = _("请选择核查人。")
    elif not region_in_scope(by, to.region) or not region_in_scope(to, finding.region):
        errors["assigned_to"] = _("核查人应为线索所在区划的工作人员。")
    elif to.pk == finding.assigned_to_id:
        errors["assigned_to"] = _("线索已分派给此人。")
    raise_field_errors(errors)
    return _step(
        finding,
        action="assign",
        to=FindingState.ASSIGNED,
        by=by,
        reason=reason,
        assigned_label=_label(to),
        assigned_to=to,
    )


def clean_fen(errors: dict[str, str], field: str, raw: Any, *, positive: bool) -> int:
    """An amount in yuan with at most two decimals (or an int of fen when given as int) → fen, exact."""
    from decimal import Decimal, InvalidOperation

    from doudi.core.text import clean_text

    if isinstance(raw, int) and not isinstance(raw, bool):
        fen = raw
    else:
        text = clean_text(raw).replace(",", "").replace("，", "")
        try:
            value = Decimal(text)
            fen = yuan_to_fen(value) if value.is_finite() else None
        except (InvalidOperation, ValueError):
            fen = None
        if fen is None:
            errors[field] = _("请填写金额（元，最多两位小数）。")
            return 0
    if fen < 0 or (positive and fen == 0):
        errors[field] = _("金额应大于0。") if positive else _("金额不能为负数。")
    elif fen > MAX_FEN:
        errors[field] = _("金额不能超过 %(max)s 元。") % {"max": f"{MAX_FEN // 100:,}"}
    return fen


@transaction.atomic
def confirm(*, finding: Finding, by: Any, reason: str, recover: Any, version: int | None = None) -> Finding:
    """确认: the finding is a real problem; `recover` (yuan text, or int fen) is what must be paid back —
    0 when nothing is owed (a procedure not followed). A positive amount opens the recovery."""
    require(can_work(by, finding))
    finding = _locked(finding, version)
    _conflict_unless(finding, FindingState.OPEN, FindingState.ASSIGNED)
    errors: dict[str, str] = {}
    reason = clean_field_text(errors, "reason", reason, required=True, max_length=2000)
    fen = clean_fen(errors, "recover", recover, positive=False)
    raise_field_errors(errors)
    finding = _step(
        finding,
        action="confirm",
        to=FindingState.CONFIRMED,
        by=by,
        reason=reason,
        amount_fen=fen,
        recover_fen=fen,
        resolution=reason,
    )
    if fen > 0:
        Recovery.objects.create(finding=finding, amount_fen=fen, created_at=timezone.now())
    return finding


@transaction.atomic
def explain(*, finding: Finding, by: Any, reason: str, version: int | None = None) -> Finding:
    """已说明: the finding has a lawful explanation (written); nothing to recover."""
    require(can_work(by, finding))
    finding = _locked(finding, version)
    _conflict_unless(finding, FindingState.OPEN, FindingState.ASSIGNED)
    errors: dict[str, str] = {}
    reason = clean_field_text(errors, "reason", reason, required=True, max_length=2000)
    raise_field_errors(errors)
    return _step(
        finding, action="explain", to=FindingState.EXPLAINED, by=by, reason=reason, resolution=reason
    )


@transaction.atomic
def reopen(*, finding: Finding, by: Any, reason: str, version: int | None = None) -> Finding:
    """重新核查: the supervisor does not accept an explanation."""
    require(is_supervisor(by) and region_in_scope(by, finding.region))
    finding = _locked(finding, version)
    _conflict_unless(finding, FindingState.EXPLAINED)
    errors: dict[str, str] = {}
    reason = clean_field_text(errors, "reason", reason, required=True, max_length=2000)
    raise_field_errors(errors)
    return _step(
        finding, action="reopen", to=FindingState.OPEN, by=by, reason=reason, assigned_to=None, resolution=""
    )


@transaction.atomic
def record_repayment(
    *, finding: Finding, by: Any, amount: Any, paid_on: Any, reference: str = "", today=None
) -> Repayment:
    """退回: a sum repaid against the finding's recovery; the one that completes it closes the finding
    (`recovered`). More than is outstanding is refused."""
    require(can_work(by, finding))
    finding = _locked(finding, None)
    _conflict_unless(finding, FindingState.CONFIRMED)
    recovery = Recovery.objects.select_for_update().filter(finding=finding).first()
    if recovery is None:
        raise Conflict(_("此线索无需追回资金。"), path="amount")
    errors: dict[str, str] = {}
    fen = clean_fen(errors, "amount", amount, positive=True)
    day = clean_day(errors, "paid_on", paid_on, today=today or timezone.localdate())
    reference = clean_field_text(errors, "reference", reference, required=False, max_length=64)
    if "amount" not in errors and fen > recovery.outstanding_fen:
        errors["amount"] = _("超过尚未追回的金额（%(left)s 元）。") % {
            "left": _yuan(recovery.outstanding_fen)
        }
    raise_field_errors(errors)
    now = timezone.now()
    repayment = Repayment.objects.create(
        recovery=recovery,
        seq=recovery.repayments.count() + 1,
        amount_fen=fen,
        paid_on=day,
        reference=reference,
        by=by,
        by_label=_label(by),
        at=now,
    )
    recovery.repaid_fen += fen
    if recovery.repaid_fen == recovery.amount_fen:
        recovery.repaid_at = now
    recovery.save(update_fields=["repaid_fen", "repaid_at"])
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=finding,
        object_type="supervision.repayment",
        object_id=str(repayment.pk),
        after={"amount_fen": fen, "paid_on": day.isoformat(), "repaid_fen": recovery.repaid_fen},
    )
    if recovery.repaid_at is not None:
        _step(
            finding,
            action="recovered",
            to=FindingState.RECOVERED,
            by=by,
            reason=_("已全额追回 %(amount)s 元") % {"amount": _yuan(recovery.amount_fen)},
            amount_fen=recovery.amount_fen,
        )
    return repayment


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


# --- 近亲属备案 ------------------------------------------------------------------------------------------------


@transaction.atomic
def declare_relative(*, staff: Any, person: Any, relation: str, note: str = "") -> StaffRelative:
    """A staff member declares a close relative in the registry (条例第33条). Declaring the same person
    twice is a conflict; a declaration is withdrawn, never deleted."""
    from doudi.accounts.roles import is_acting_staff
    from doudi.core.fields import create_once

    require(is_acting_staff(staff) or is_supervisor(staff))
    errors: dict[str, str] = {}
    if relation not in Kinship.values:
        errors["relation"] = _("请选择关系。")
    if person is None:
        errors["person"] = _("请填写亲属的身份证号。")
    note = clean_field_text(errors, "note", note, required=False, max_length=200)
    raise_field_errors(errors)
    declaration = create_once(
        StaffRelative,
        lambda: Conflict(_("已备案此人。"), path="person"),
        {"staff": staff, "person": person, "withdrawn_at": None},
        relation=relation,
        note=note,
        declared_at=timezone.now(),
        declared_by=staff,
    )
    record(
        actor=staff,
        action=AuditAction.CREATE,
        obj=declaration,
        after={"person": person.pk, "relation": relation},
    )
    return declaration


@transaction.atomic
def withdraw_relative(*, declaration: StaffRelative, by: Any, reason: str) -> StaffRelative:
    """撤回: only the declarant, with a reason (a wrong person, a typo); the row stays for the record."""
    require(declaration.staff_id == getattr(by, "pk", None))
    declaration = StaffRelative.objects.select_for_update().get(pk=declaration.pk)
    if declaration.withdrawn_at is not None:
        raise Conflict(_("此备案已撤回。"))
    errors: dict[str, str] = {}
    reason = clean_field_text(errors, "reason", reason, required=True, max_length=200)
    raise_field_errors(errors)
    declaration.withdrawn_at = timezone.now()
    declaration.withdrawn_reason = reason
    declaration.save(update_fields=["withdrawn_at", "withdrawn_reason"])
    record(actor=by, action=AuditAction.UPDATE, obj=declaration, after={"withdrawn": True}, reason=reason)
    return declaration


def raise_if_invalid_month(month: str) -> str:
    """YYYY-MM, or a field error on `month`."""
    try:
        return checks.Month.parse(month.strip()).text
    except (ValueError, AttributeError):
        raise ValidationError({"month": _("请填写月份（YYYY-MM）。")}) from None
