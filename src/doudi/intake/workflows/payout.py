"""一次性救助的发放: what a decided 临时救助 / 一事一议 / 先行救助 case pays, and closing it when paid.

The monthly payroll (payments/oneoffs.py) pays these cases: an approved temporary-assistance case or a
decided 一事一议 becomes one payment line in the next payroll, paid to the applicant's payee account;
a 先行救助 the village already gave in cash is recorded as paid. What a case pays is decided here, from
the case's own record (`details`), by one function the payroll and the case page share:

- only cash is paid by the bank: aid in goods or services (`aid_form`) is recorded on the case, and the
  case is closed by hand once delivered;
- a case formalised from a 先行救助 (补办审批: the temporary case, or the 一事一议 it was escalated to)
  pays the decided amount less what the first aid already gave (cash or goods valued in yuan) — never
  the same yuan twice;
- a case whose applicant is not in the registry (or belongs to no household) cannot be paid by the
  payroll (no person, no payee account): it is closed by hand as before.

A case the payroll pays closes itself when the bank's return says the money arrived (`close_on_payment`);
the manual 办结（已发放） is refused for it (`manual_close_refusal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

# The case types paid once per case; each is also the payment line's scheme code.
ONE_OFF_TYPES = ("temporary", "case_by_case", "first_aid")
LEVELS = {"township": "乡镇审批", "district": "区县审批"}
AID_FORM_TEXT = {"cash": "现金", "goods": "实物", "services": "服务"}


@dataclass(frozen=True)
class Award:
    """What one case gives, in whole yuan: decided, less the first aid already given, to pay."""

    scheme: str
    decided: int
    aid_form: str
    deducted: int
    pay: int
    cash_given: bool  # a 先行救助 given in cash by the village: recorded as paid, not sent to a bank
    explanation: str


def _first_aid(details: dict, related: dict | None) -> dict:
    """The 先行救助 this case formalises (its own record, or the temporary case's it was escalated from)."""
    return details.get("first_aid") or (related or {}).get("first_aid") or {}


def one_off_award(
    case_type: str, tracking_number: str, details: dict, related: dict | None = None
) -> Award | None:
    """What the payroll pays for a case (None: nothing decided to pay). `details` is the case's record;
    `related` the record of the case it came from (a 一事一议 escalated from a formalised first aid).
    The explanation names the case, the decision and who decided it."""
    details = details or {}
    if case_type == "first_aid":
        aid = details.get("first_aid") or {}
        amount = int(aid.get("amount") or 0)
        form = aid.get("aid_form") or "cash"
        if amount <= 0 or form != "cash":
            return None
        text = (
            f"先行救助 {tracking_number}：村（居）于 {aid.get('given_on', '')} 已现金发放 {amount} 元"
            f"（{aid.get('recorded_by', '')} 登记），不经银行代发"
        )
        return Award(case_type, amount, form, 0, amount, True, text)
    decision = details.get("decision") or {}
    amount = int(decision.get("amount") or 0)
    if amount <= 0 or decision.get("outcome", "approved") != "approved":
        return None
    if case_type == "temporary":
        form = decision.get("aid_form") or "cash"
        text = (
            f"临时救助 {tracking_number}：{LEVELS.get(decision.get('level', ''), '审批')} {amount} 元"
            f"（{decision.get('decided_by', '')}，{decision.get('decided_on', '')}）"
        )
    elif case_type == "case_by_case":
        form = decision.get("aid_form") or "cash"
        bereavement = details.get("bereavement") or {}
        what = (
            f"病亡人员家庭救助（{bereavement.get('name', '')} {bereavement.get('died_on', '')} 病亡）"
            if bereavement
            else "一事一议"
        )
        text = (
            f"{what} {tracking_number}：区县集体研究决定 {amount} 元"
            f"（{decision.get('meeting_on', '')}，{decision.get('minutes_ref', '')}，{decision.get('decided_by', '')}）"
        )
    else:
        return None
    aid = _first_aid(details, related)
    deducted = min(int(aid.get("amount") or 0), amount)
    if deducted:
        text += (
            f"；扣除先行救助 {aid.get('case', '')} 已发 {deducted} 元"
            f"（{AID_FORM_TEXT.get(aid.get('aid_form', 'cash'), '')}）"
        )
    pay = amount - deducted if form == "cash" else 0
    if form == "cash":
        text += f"，本次发放 {pay} 元"
    return Award(case_type, amount, form, deducted, pay, False, text)


def in_registry(case: Any) -> bool:
    """The applicant is a registry person with a household (the case's, else their current one): what
    the payroll needs to pay them (payments/oneoffs.py reads the same)."""
    from doudi.registry.models import Membership

    if not case.applicant_id:
        return False
    return bool(
        case.household_id
        or Membership.objects.filter(person_id=case.applicant_id, left_on__isnull=True).exists()
    )


def payroll_pays(case: Any) -> bool:
    """Whether the payroll pays this case in cash (an applicant in the registry, cash left to pay)."""
    if case.case_type not in ("temporary", "case_by_case") or not in_registry(case):
        return False
    related = case.related_case.details if case.related_case_id else None
    award = one_off_award(case.case_type, case.tracking_number, case.details or {}, related)
    return bool(award and award.pay > 0)


def manual_close_refusal(case: Any) -> str | None:
    """The guard of 办结（已发放）: refused where the payroll pays the case — it closes on the bank's return."""
    if not payroll_pays(case):
        return None
    return _(
        "现金救助由发放花名册代发到申请人的收款账户，银行回盘到账后本案自动办结，不能手工办结。"
        "发放进度见本页“代发情况”。"
    )


def close_on_payment(*, case_id: int, ref: str, amount_fen: int, by: Any) -> bool:
    """办结 on the bank's return: the case's payment line was paid. The case (still 已批准) moves to
    已办结 with the line's reference in the ledger; anything else (already closed) is left alone.
    Called inside the return's transaction."""
    from doudi.intake import services
    from doudi.intake.flows import APPROVED, CLOSED
    from doudi.intake.models import Case

    case = Case.objects.select_for_update().select_related("region").filter(pk=case_id).first()
    if case is None or case.case_type not in ("temporary", "case_by_case") or case.state != APPROVED:
        return False
    services.record_transition(
        case,
        CLOSED,
        by=by,
        action="close",
        reason=_("代发到账（流水号 %(ref)s，%(yuan)s 元），自动办结")
        % {"ref": ref, "yuan": amount_fen // 100},
        data={"payment_ref": ref, "amount_fen": amount_fen},
    )
    return True
