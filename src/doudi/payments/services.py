"""Writes of 资金发放. Each function is one business action in one transaction, audited.

收款账户 (payee accounts) change by maker-checker: `propose_account` (经办: any acting officer of the
person's village, township or district) writes a `pending` account; `approve_account` or
`reject_account` (复核: a district officer or approver, never the proposer) decides it. Approval makes
it the one `active` account the payroll pays into and the previous one `superseded`. Account numbers
are masked in every audit entry: the full number leaves the system only in the bank's payment file.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from stdnum import luhn

from doudi.accounts.roles import Role
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.errors import Conflict
from doudi.core.masking import mask_account_number
from doudi.core.scoping import region_in_scope
from doudi.payments.models import AccountStatus, Bank, HolderRelation, PayeeAccount
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
