"""Writes of 救助待遇: the household figures a dibao investigation settles, enrolment from a decision.

Each function is one business action inside the caller's transaction (or its own), audited. Two of
them write registry rows that no registry service covers yet, with a before/after audit entry each:
- `apply_economic_data`: the declared incomes, work status and assets the investigating officer
  entered or corrected (or adopted from a verification report) — the household's record from then on,
  so that the evaluation, and later the monthly payroll, read the figures the decision rests on;
- `enrol_from_decision`: `Household.dibao_enrolled` / `dibao_last_amount`, the fields the policy
  engine reads (R1 treats an enrolled household differently), and the person category `dibao`
  (through `registry.services.grant_category`).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.benefits.evaluation import INCOME_KINDS
from doudi.benefits.models import ChangeKind, Enrolment, EnrolmentChange, EnrolmentStatus, Scheme
from doudi.core.errors import Conflict
from doudi.core.scoping import region_in_scope
from doudi.registry.models import Category, Household, Membership, Person, PersonCategory, WorkStatus

MAX_MONTHLY_YUAN = Decimal("10000000")
MAX_COUNT = 99


def _now() -> datetime.datetime:
    return timezone.now()


def _label(user: Any) -> str:
    return getattr(user, "username", None) or "system"


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


# --- household economic data (家庭经济状况) -------------------------------------------------------------


@dataclass
class Figures:
    """Incomes (fen per month, by POLICY kind) and work status per person, and the household's assets."""

    members: dict[int, dict[str, Any]] = field(default_factory=dict)  # person pk → {"income": {…}, "work": …}
    assets: dict[str, int] = field(default_factory=dict)  # deposits_fen, vehicles, houses
    source: str = "declared"  # declared (entered by the officer) | verified (from a check report)
    report: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "report": self.report,
            "members": {str(pk): v for pk, v in self.members.items()},
            "assets": dict(self.assets),
        }


def _yuan_to_fen(raw: Any, key: str, errors: dict[str, str]) -> int | None:
    text = str(raw if raw is not None else "").strip().replace(",", "")
    if text == "":
        return 0
    try:
        amount = Decimal(text)
    except InvalidOperation:
        errors[key] = _("应为金额（元，最多两位小数）。")
        return None
    if not amount.is_finite() or amount < 0:
        errors[key] = _("不能为负数。")
        return None
    if amount > MAX_MONTHLY_YUAN:
        errors[key] = _("金额过大。")
        return None
    fen = amount * 100
    if fen != fen.to_integral_value():
        errors[key] = _("最多两位小数（分）。")
        return None
    return int(fen)


def _count(raw: Any, key: str, errors: dict[str, str]) -> int | None:
    text = str(raw if raw is not None else "").strip()
    if text == "":
        return 0
    try:
        value = int(text)
    except ValueError:
        errors[key] = _("应为整数。")
        return None
    if not 0 <= value <= MAX_COUNT:
        errors[key] = _("应在 0 到 %(n)s 之间。") % {"n": MAX_COUNT}
        return None
    return value


def figures_from_form(data: dict[str, Any], household: Household, members: list[Membership]) -> Figures:
    """The officer's entry: `income_<person>_<kind>` (yuan), `work_<person>`, `deposits` (yuan),
    `vehicles`, `houses`. A key that is absent keeps the recorded value; an empty one means 0.
    Every problem is reported at once, keyed by its input name."""
    errors: dict[str, str] = {}
    figures = Figures(source="declared")
    for m in members:
        p = m.person
        income = {}
        for kind in INCOME_KINDS:
            key = f"income_{p.pk}_{kind}"
            current = getattr(p, f"income_{kind}_fen")
            income[kind] = _yuan_to_fen(data[key], key, errors) if key in data else current
        work_key = f"work_{p.pk}"
        work = str(data.get(work_key, p.work) or WorkStatus.NONE)
        if work not in WorkStatus.values:
            errors[work_key] = _("就业状态无效。")
        figures.members[p.pk] = {"income": income, "work": work}
    figures.assets = {
        "deposits_fen": _yuan_to_fen(data["deposits"], "deposits", errors)
        if "deposits" in data
        else household.deposits_fen,
        "vehicles": _count(data["vehicles"], "vehicles", errors)
        if "vehicles" in data
        else household.vehicles,
        "houses": _count(data["houses"], "houses", errors) if "houses" in data else household.houses,
    }
    if errors:
        raise ValidationError(errors)
    return figures


def usable_report(user: Any, household: Household):
    """The latest verification report (核对报告) of the household the user may read, or None (also when
    the verification app is not installed). A report exists only for a consented check (第五十八条)."""
    try:
        from doudi.verification.selectors import latest_report
    except ImportError:  # verification not installed: figures are entered by hand
        return None
    report = latest_report(user, household)
    if report is None or report.consent_id is None or "members" not in (report.data or {}):
        return None
    return report


def figures_from_report(report: Any, household: Household, members: list[Membership]) -> Figures:
    """核对数据: the verified incomes of the members the report covers (others keep their recorded
    figures) and the verified assets."""
    if report.household_id != household.pk:
        raise ValidationError({"report": _("核对报告不属于本案家庭。")})
    data = report.data or {}
    verified = {int(m["person_id"]): m for m in data.get("members", []) if "person_id" in m}
    figures = Figures(source="verified", report=report.pk)
    for m in members:
        p = m.person
        row = verified.get(p.pk)
        income = {k: getattr(p, f"income_{k}_fen") for k in INCOME_KINDS}
        if row is not None:
            for kind in INCOME_KINDS:
                value = (row.get("income") or {}).get(kind, {}).get("verified_fen")
                if value is not None:
                    income[kind] = int(value)
        figures.members[p.pk] = {"income": income, "work": p.work}
    assets = data.get("assets", {})

    def verified_asset(name: str, current: int) -> int:
        value = (assets.get(name) or {}).get("verified")
        return int(value) if value is not None else current

    figures.assets = {
        "deposits_fen": verified_asset("deposits_fen", household.deposits_fen),
        "vehicles": verified_asset("vehicles", household.vehicles),
        "houses": verified_asset("houses", household.houses),
    }
    return figures


PERSON_FIGURE_FIELDS = (*(f"income_{k}_fen" for k in INCOME_KINDS), "work")
HOUSEHOLD_FIGURE_FIELDS = ("deposits_fen", "vehicles", "houses")


@transaction.atomic
def apply_economic_data(*, household: Household, figures: Figures, by: Any, case: Any = None) -> dict:
    """调查核实: write the settled figures to the household's registry record (audited, before/after),
    and return the snapshot kept with the case."""
    if by is None or not region_in_scope(by, household.region):
        raise PermissionDenied(_("该家庭不在您的管辖范围内。"))
    reason = _("低保调查核实家庭经济状况") + (f"（{case.tracking_number}）" if case is not None else "")
    household = (
        Household.objects.select_for_update(of=("self",)).select_related("region").get(pk=household.pk)
    )
    people = {
        p.pk: p
        for p in Person.objects.select_for_update().filter(pk__in=list(figures.members)).order_by("pk")
    }
    for pk, values in figures.members.items():
        p = people[pk]
        after = {f"income_{k}_fen": int(values["income"][k]) for k in INCOME_KINDS} | {"work": values["work"]}
        before = {f: getattr(p, f) for f in PERSON_FIGURE_FIELDS}
        changed = [f for f in PERSON_FIGURE_FIELDS if before[f] != after[f]]
        if changed:
            for f in changed:
                setattr(p, f, after[f])
            p.save(update_fields=[*changed, "updated_at"])
            record(
                actor=by,
                action=AuditAction.UPDATE,
                obj=p,
                before={f: before[f] for f in changed},
                after={f: after[f] for f in changed},
                reason=reason,
            )
    before = {f: getattr(household, f) for f in HOUSEHOLD_FIGURE_FIELDS}
    changed = [f for f in HOUSEHOLD_FIGURE_FIELDS if before[f] != figures.assets[f]]
    if changed:
        for f in changed:
            setattr(household, f, figures.assets[f])
        household.save(update_fields=[*changed, "updated_at"])
        record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=household,
            before={f: before[f] for f in changed},
            after={f: figures.assets[f] for f in changed},
            reason=reason,
        )
    return figures.as_json() | {"at": timezone.localtime(_now()).isoformat(), "by": _label(by)}


# --- enrolment (在保) --------------------------------------------------------------------------------------


def _enrolment_snapshot(e: Enrolment) -> dict:
    return {
        "household": e.household_id,
        "scheme": e.scheme,
        "status": e.status,
        "from_month": e.from_month.isoformat(),
        "monthly_amount": e.monthly_amount,
        "decision_case": e.decision_case_id,
        "end_month": e.end_month.isoformat() if e.end_month else None,
    }


def _grant_dibao(person: Person, from_month: datetime.date, by: Any, case: Any) -> bool:
    """The person category 低保对象 from the first month paid; False when an open grant already covers
    that month (kept as it is: grants never overlap)."""
    from doudi.registry.services import grant_category

    covering = PersonCategory.objects.filter(person=person, category=Category.DIBAO).exclude(
        valid_to__lt=from_month
    )
    if covering.exists():
        return False
    grant_category(
        officer=by,
        person=person,
        category=Category.DIBAO,
        valid_from=from_month,
        note=_("低保审批 %(n)s") % {"n": case.tracking_number},
    )
    return True


@transaction.atomic
def enrol_from_decision(*, case: Any, by: Any) -> Enrolment:
    """纳入低保: the enrolment an approved dibao case produces — from the month of approval (条例第22条),
    at the approved monthly amount — with the household's registry fields (`dibao_enrolled`,
    `dibao_last_amount`) and the category 低保对象 for the members of the dibao unit.

    Reads the approval recorded on the case (`details["decision"]`: amount, from_month, members).
    Refused (Conflict) when the household already has an active dibao enrolment."""
    from doudi.intake.models import Case, CaseType

    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("region", "household__region")
        .get(pk=case.pk)
    )
    if by is None or not by.has_role(Role.DISTRICT_APPROVER) or not region_in_scope(by, case.region):
        raise PermissionDenied(_("只有区县民政审批人可以纳入低保。"))
    decision = (case.details or {}).get("decision")
    if case.case_type != CaseType.DIBAO or case.state != "approved" or not decision:
        raise Conflict(_("案件尚未批准，不能纳入低保。"), path="state")
    if case.household_id is None:
        raise ValidationError({"household": _("案件没有关联家庭。")})
    if Enrolment.objects.filter(decision_case=case).exists():
        raise Conflict(_("本案已纳入低保。"), path="state")
    household = (
        Household.objects.select_for_update(of=("self",)).select_related("region").get(pk=case.household_id)
    )
    if Enrolment.objects.filter(
        household=household, scheme=Scheme.DIBAO, status=EnrolmentStatus.ACTIVE
    ).exists():
        raise Conflict(_("该家庭已在保，不能重复纳入。"), path="household")
    amount = int(decision["amount"])
    if amount <= 0:
        raise ValidationError({"amount": _("月低保金应大于0。")})
    from_month = datetime.date.fromisoformat(decision["from_month"])
    now = _now()
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(
                household=household,
                scheme=Scheme.DIBAO,
                status=EnrolmentStatus.ACTIVE,
                from_month=from_month,
                monthly_amount=amount,
                decision_case=case,
                approved_by=by,
                approved_at=now,
            )
    except IntegrityError as exc:  # a concurrent enrolment of the same household won
        raise Conflict(_("该家庭已在保，不能重复纳入。"), path="household") from exc
    granted, kept = [], []
    members = {int(pk) for pk in decision.get("members", [])}
    for person in Person.objects.filter(pk__in=members).select_related("region").order_by("pk"):
        (granted if _grant_dibao(person, from_month, by, case) else kept).append(person.pk)
    before = {"dibao_enrolled": household.dibao_enrolled, "dibao_last_amount": household.dibao_last_amount}
    household.dibao_enrolled, household.dibao_last_amount = True, amount
    household.save(update_fields=["dibao_enrolled", "dibao_last_amount", "updated_at"])
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=household,
        before=before,
        after={"dibao_enrolled": True, "dibao_last_amount": amount},
        reason=_("低保审批 %(n)s") % {"n": case.tracking_number},
    )
    EnrolmentChange.objects.create(
        enrolment=enrolment,
        kind=ChangeKind.ENROLLED,
        effective_month=from_month,
        at=now,
        by=by,
        by_label=_label(by),
        after=_enrolment_snapshot(enrolment) | {"categories_granted": granted, "categories_kept": kept},
        reason=decision.get("reason", ""),
        case=case,
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=enrolment,
        after=_enrolment_snapshot(enrolment),
        reason=_("低保审批 %(n)s") % {"n": case.tracking_number},
    )
    return enrolment


@transaction.atomic
def end_enrolment(
    *, enrolment: Enrolment, by: Any, end_month: datetime.date, reason: str, case: Any = None
) -> Enrolment:
    """停保: the last month paid is `end_month`; reasons in writing (条例第28、29条). The household's
    registry fields and the members' 低保 categories follow. (The dibao exit workflow, with its
    deferral during the emergency window, is a later issue; this is the write it will call.)"""
    enrolment = Enrolment.objects.select_for_update().select_related("household__region").get(pk=enrolment.pk)
    if (
        by is None
        or not by.has_role(Role.DISTRICT_APPROVER)
        or not region_in_scope(by, enrolment.household.region)
    ):
        raise PermissionDenied(_("只有区县民政审批人可以停保。"))
    if enrolment.status != EnrolmentStatus.ACTIVE:
        raise Conflict(_("该在保记录已终止。"), path="status")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("停保须书面说明理由。")})
    end_month = first_of_month(end_month)
    if end_month < enrolment.from_month:
        raise ValidationError({"end_month": _("终止月份不能早于起始月份。")})
    before = _enrolment_snapshot(enrolment)
    enrolment.status, enrolment.end_month, enrolment.end_reason = (
        EnrolmentStatus.ENDED,
        end_month,
        reason[:500],
    )
    enrolment.save(update_fields=["status", "end_month", "end_reason"])
    if enrolment.scheme == Scheme.DIBAO:
        household = Household.objects.select_for_update(of=("self",)).get(pk=enrolment.household_id)
        household.dibao_enrolled, household.dibao_last_amount = False, None
        household.save(update_fields=["dibao_enrolled", "dibao_last_amount", "updated_at"])
        record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=household,
            before={"dibao_enrolled": True},
            after={"dibao_enrolled": False},
            reason=reason,
        )
        last_day = (end_month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        from doudi.registry.services import end_category

        members = Membership.objects.filter(household_id=enrolment.household_id, left_on__isnull=True)
        for grant in PersonCategory.objects.filter(
            person_id__in=members.values("person_id"), category=Category.DIBAO, valid_to__isnull=True
        ):
            end_category(officer=by, grant=grant, valid_to=max(last_day, grant.valid_from), reason=reason)
    EnrolmentChange.objects.create(
        enrolment=enrolment,
        kind=ChangeKind.ENDED,
        effective_month=end_month,
        at=_now(),
        by=by,
        by_label=_label(by),
        before=before,
        after=_enrolment_snapshot(enrolment),
        reason=reason,
        case=case,
    )
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=enrolment,
        before=before,
        after=_enrolment_snapshot(enrolment),
        reason=reason,
    )
    return enrolment
