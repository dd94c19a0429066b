"""Writes of 救助待遇: the household figures a dibao investigation settles, enrolment from a decision.

Each function is one business action inside the caller's transaction (or its own), audited. Two of
them write registry rows that no registry service covers yet, with a before/after audit entry each:
- `apply_economic_data`: the declared incomes, work status and assets the investigating officer
  entered or corrected (or adopted from a verification report) — the household's record from then on,
  so that the evaluation, and later the monthly payroll, read the figures the decision rests on;
- `enrol_from_decision`: for dibao `Household.dibao_enrolled` / `dibao_last_amount`, the fields the
  policy engine reads (R1 treats an enrolled household differently); for every scheme the person
  category it confers (低保对象, 特困人员, 孤儿 …, through `registry.services.grant_category`).

Enrolment is one service for every scheme an approval produces; what differs per scheme is one row of
`SCHEMES` (household or person level, the month payment starts, where the amount comes from, the
category conferred).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.accounts.roles import Role
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.benefits.evaluation import INCOME_KINDS
from doudi.benefits.models import (
    ENROLLED,
    PERSON_LEVEL,
    ChangeKind,
    Enrolment,
    EnrolmentChange,
    EnrolmentStatus,
    Scheme,
)
from doudi.benefits.signals import announce
from doudi.benefits.window import emergency_window, first_of_month, in_emergency_window, month_last_day
from doudi.core.errors import Conflict
from doudi.core.scoping import region_in_scope
from doudi.registry.models import Category, Household, Membership, Person, PersonCategory, WorkStatus

MAX_MONTHLY_YUAN = Decimal("10000000")
MAX_COUNT = 99


def _now() -> datetime.datetime:
    return timezone.now()


def _label(user: Any) -> str:
    return getattr(user, "username", None) or "system"


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


@dataclass(frozen=True)
class SchemeRule:
    """How an approved case becomes an enrolment in one scheme.

    - person level (`models.PERSON_LEVEL`): granted to one person (`decision["person"]`), not a household;
    - `from_month`: "approval" — the month of approval (条例第22条; 特困 likewise) — or "application" —
      the calendar month of application (一(四): children's cases are decided and paid in it);
    - the amount: dibao's is the approved amount on the decision (the evaluation's, or an audited
      override); a person-level scheme's is the policy engine's for the first month (R2 / R3), and
      the decision must agree with it;
    - `category`: the person category the enrolment confers, from the decision (None: none);
    - `ends_category`: whether ending the enrolment ends that category too (a 孤儿 stays an orphan
      when the allowance stops; a 特困 person whose support ends is no longer 特困);
    - `household_flags`: dibao keeps `Household.dibao_enrolled` / `dibao_last_amount` for R1.
    """

    scheme: str
    label: Any
    from_month: str
    category: Callable[[dict], str | None]
    ends_category: bool = True
    household_flags: bool = False

    @property
    def person_level(self) -> bool:
        return self.scheme in PERSON_LEVEL


CHILD_ALLOWANCE_CATEGORIES = frozenset({Category.ORPHAN, Category.DE_FACTO_UNSUPPORTED_CHILD})


def _child_category(decision: dict) -> str | None:
    category = decision.get("category")
    return category if category in CHILD_ALLOWANCE_CATEGORIES else None


# case type → rule (the case types are intake's; the approval of each produces that scheme)
SCHEMES: dict[str, SchemeRule] = {
    "dibao": SchemeRule(
        Scheme.DIBAO,
        gettext_lazy("低保审批"),
        from_month="approval",
        category=lambda decision: Category.DIBAO,
        household_flags=True,
    ),
    "tekun": SchemeRule(
        Scheme.TEKUN,
        gettext_lazy("特困人员供养审批"),
        from_month="approval",
        category=lambda decision: Category.TEKUN,
    ),
    "children": SchemeRule(
        Scheme.CHILDREN,
        gettext_lazy("儿童基本生活保障审批"),
        from_month="application",
        category=_child_category,
        ends_category=False,
    ),
}
RULE_OF_SCHEME = {rule.scheme: rule for rule in SCHEMES.values()}


def _enrolment_snapshot(e: Enrolment) -> dict:
    return {
        "household": e.household_id,
        "person": e.person_id,
        "scheme": e.scheme,
        "status": e.status,
        "from_month": e.from_month.isoformat(),
        "monthly_amount": e.monthly_amount,
        "decision_case": e.decision_case_id,
        "end_month": e.end_month.isoformat() if e.end_month else None,
    }


def _grant(person: Person, category: str, from_month: datetime.date, by: Any, note: str) -> bool:
    """The person category from the first month paid; False when a grant already covers that month
    (kept as it is: grants never overlap)."""
    from doudi.registry.services import grant_category

    covering = PersonCategory.objects.filter(person=person, category=category).exclude(
        valid_to__lt=from_month
    )
    if covering.exists():
        return False
    grant_category(officer=by, person=person, category=category, valid_from=from_month, note=note)
    return True


def _approval_month(case: Any) -> datetime.date:
    """The month of the (latest) approval recorded in the case's ledger."""
    row = case.transitions.filter(to_state="approved").order_by("-seq").first()
    if row is None:
        raise Conflict(_("案件尚未批准，不能纳入保障。"), path="state")
    return first_of_month(timezone.localdate(row.at))


def start_month(rule: SchemeRule, case: Any) -> datetime.date:
    """The first month paid: the month of approval, or (children) the month of application."""
    if rule.from_month == "application":
        return first_of_month(timezone.localdate(case.filed_at))
    return _approval_month(case)


def _beneficiary(rule: SchemeRule, case: Any, decision: dict, by: Any) -> Person | None:
    if not rule.person_level:
        return None
    pk = decision.get("person")
    person = Person.objects.select_related("region").filter(pk=pk).first() if pk else None
    if person is None:
        raise ValidationError({"person": _("审批决定没有指明保障对象。")})
    if not region_in_scope(by, person.region):
        raise PermissionDenied(_("该人员不在您的管辖范围内。"))
    return person


def _person_household(person: Person) -> Household | None:
    m = Membership.objects.filter(person=person, left_on__isnull=True).select_related("household").first()
    return m.household if m else None


def scheme_amount(scheme: str, person: Person, month: datetime.date, category: str | None) -> int:
    """A person-level scheme's monthly amount in `month` by the policy engine (R2 / R3), the person
    holding `category` (the one the decision confers)."""
    from doudi.benefits.evaluation import InputError, evaluate_person

    try:
        result = evaluate_person(person, scheme, on=month, categories=(category,) if category else ())
    except InputError as exc:
        raise ValidationError(
            {"amount": "；".join(f"{e['path']}: {e['message']}" for e in exc.errors)}
        ) from exc
    return result["amount"]


def _amount(rule: SchemeRule, decision: dict, person: Person | None, from_month: datetime.date) -> int:
    recorded = decision.get("amount")
    if not rule.person_level:
        amount = int(recorded or 0)
    else:
        amount = scheme_amount(rule.scheme, person, from_month, rule.category(decision))
        if recorded is not None and int(recorded) != amount:
            raise Conflict(
                _("审批决定的月救助金 %(d)s 元与 %(m)s 的政策计算结果 %(a)s 元不符，请重新审批。")
                % {"d": recorded, "a": amount, "m": from_month.strftime("%Y-%m")},
                path="amount",
            )
    if amount <= 0:
        raise ValidationError({"amount": _("月救助金应大于0。")})
    return amount


def _active(rule: SchemeRule, household: Household, person: Person | None):
    qs = Enrolment.objects.filter(scheme=rule.scheme, status__in=ENROLLED)
    return qs.filter(person=person) if rule.person_level else qs.filter(household=household)


def _already_enrolled(rule: SchemeRule) -> Conflict:
    if rule.person_level:
        return Conflict(_("该人员已在保，不能重复纳入。"), path="person")
    return Conflict(_("该家庭已在保，不能重复纳入。"), path="household")


@transaction.atomic
def enrol_from_decision(*, case: Any, by: Any) -> Enrolment:
    """纳入保障: the enrolment an approved case produces, in the scheme of its type (`SCHEMES`).

    Reads the approval recorded on the case (`details["decision"]`: amount, from_month, and `members`
    for dibao or `person` for a person-level scheme). Payment starts in the month of approval
    (dibao, 条例第22条; 特困) or of application (children, 一(四)); the decision's `from_month` must say
    the same. The amount is the approved one (dibao) or the policy engine's (R2 / R3). The category the
    scheme confers is granted from that month. Refused (Conflict) when the household (dibao) or the
    person (特困, children) already has an active enrolment in the scheme; district approvers only."""
    from doudi.intake.models import Case

    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("region", "household__region")
        .get(pk=case.pk)
    )
    if by is None or not by.has_role(Role.DISTRICT_APPROVER) or not region_in_scope(by, case.region):
        raise PermissionDenied(_("只有区县民政审批人可以纳入保障。"))
    rule = SCHEMES.get(case.case_type)
    if rule is None:
        raise ValidationError({"case": _("此类案件不产生在保记录。")})
    decision = (case.details or {}).get("decision")
    if case.state != "approved" or not decision:
        raise Conflict(_("案件尚未批准，不能纳入保障。"), path="state")
    if Enrolment.objects.filter(decision_case=case).exists():
        raise Conflict(_("本案已纳入保障。"), path="state")
    from_month = start_month(rule, case)
    if decision.get("from_month") and decision["from_month"] != from_month.isoformat():
        raise Conflict(
            _("审批决定的起始月份（%(d)s）与规定的起始月份（%(m)s）不符。")
            % {"d": decision["from_month"][:7], "m": from_month.strftime("%Y-%m")},
            path="from_month",
        )
    person = _beneficiary(rule, case, decision, by)
    household_id = case.household_id
    if person is not None:
        household = _person_household(person)
        household_id = household.pk if household else case.household_id
    if household_id is None:
        raise ValidationError({"household": _("保障对象没有登记家庭，请先在人员登记中登记。")})
    household = (
        Household.objects.select_for_update(of=("self",)).select_related("region").get(pk=household_id)
    )
    if _active(rule, household, person).exists():
        raise _already_enrolled(rule)
    amount = _amount(rule, decision, person, from_month)
    now = _now()
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(
                household=household,
                person=person,
                scheme=rule.scheme,
                status=EnrolmentStatus.ACTIVE,
                from_month=from_month,
                monthly_amount=amount,
                decision_case=case,
                approved_by=by,
                approved_at=now,
            )
    except IntegrityError as exc:  # a concurrent enrolment of the same household / person won
        raise _already_enrolled(rule) from exc
    note = f"{rule.label} {case.tracking_number}"
    granted, kept = [], []
    category = rule.category(decision)
    if category:
        pks = [person.pk] if person is not None else [int(pk) for pk in decision.get("members", [])]
        for p in Person.objects.filter(pk__in=pks).select_related("region").order_by("pk"):
            (granted if _grant(p, category, from_month, by, note) else kept).append(p.pk)
    if rule.household_flags:
        before = {
            "dibao_enrolled": household.dibao_enrolled,
            "dibao_last_amount": household.dibao_last_amount,
        }
        household.dibao_enrolled, household.dibao_last_amount = True, amount
        household.save(update_fields=["dibao_enrolled", "dibao_last_amount", "updated_at"])
        record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=household,
            before=before,
            after={"dibao_enrolled": True, "dibao_last_amount": amount},
            reason=note,
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
        actor=by, action=AuditAction.CREATE, obj=enrolment, after=_enrolment_snapshot(enrolment), reason=note
    )
    return enrolment


@transaction.atomic
def end_enrolment(
    *, enrolment: Enrolment, by: Any, end_month: datetime.date, reason: str, case: Any = None
) -> Enrolment:
    """停保: the last month paid is `end_month`; reasons in writing (条例第28、29条). For dibao the
    household's registry fields and the members' 低保 categories follow; for 特困 the person's category.
    An active or a suspended (停发) enrolment can end. This write does not look at the emergency window:
    officers' exits go through `exit_enrolment`, which refuses them while the window is open (一(一)b)."""
    enrolment = Enrolment.objects.select_for_update().select_related("household__region").get(pk=enrolment.pk)
    if (
        by is None
        or not by.has_role(Role.DISTRICT_APPROVER)
        or not region_in_scope(by, enrolment.household.region)
    ):
        raise PermissionDenied(_("只有区县民政审批人可以停保。"))
    if enrolment.status not in ENROLLED:
        raise Conflict(_("该在保记录已终止。"), path="status")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("停保须书面说明理由。")})
    end_month = first_of_month(end_month)
    if end_month < enrolment.from_month:
        raise ValidationError({"end_month": _("终止月份不能早于起始月份。")})
    rule = RULE_OF_SCHEME[enrolment.scheme]
    before = _enrolment_snapshot(enrolment)
    enrolment.status, enrolment.end_month, enrolment.end_reason = (
        EnrolmentStatus.ENDED,
        end_month,
        reason[:500],
    )
    enrolment.save(update_fields=["status", "end_month", "end_reason"])
    if rule.household_flags:
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
    category = rule.category({}) if rule.ends_category else None
    if category:
        from doudi.registry.services import end_category

        last_day = (end_month + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
        if enrolment.person_id:
            people = [enrolment.person_id]
        else:
            people = Membership.objects.filter(
                household_id=enrolment.household_id, left_on__isnull=True
            ).values("person_id")
        for grant in PersonCategory.objects.filter(
            person_id__in=people, category=category, valid_to__isnull=True
        ):
            end_category(officer=by, grant=grant, valid_to=max(last_day, grant.valid_from), reason=reason)
    ended = EnrolmentChange.objects.create(
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
    announce(ended)
    return enrolment


# --- changes of an enrolment: 增发、减发、停发、恢复发放、退出 (条例第28、29条; 一(一)b) ---------------------


def _window_guard(enrolment: Enrolment, month: datetime.date, what: str, field: str) -> None:
    """一(一)b: no reduction, suspension or exit takes effect in a month of the emergency window."""
    region = enrolment.household.region
    if not in_emergency_window(region, month):
        return
    start, end = emergency_window(region, month)
    until = end.isoformat() if end else _("尚未宣布结束")
    raise ValidationError(
        {
            field: _(
                "%(month)s 在疫情防控期间（%(start)s 至 %(end)s）：在保对象不%(what)s（渝肺炎组发〔2020〕14号 一(一)）。"
                "请在疫情防控期间结束后的月份办理。"
            )
            % {"month": month.strftime("%Y-%m"), "start": start.isoformat(), "end": until, "what": what}
        }
    )


def _changing(enrolment: Enrolment, by: Any, allowed: tuple[str, ...]) -> Enrolment:
    """The enrolment locked for a change by a district approver of its region, in an allowed status."""
    enrolment = (
        Enrolment.objects.select_for_update(of=("self",))
        .select_related("household__region", "household__head", "person")
        .get(pk=enrolment.pk)
    )
    if (
        by is None
        or not by.has_role(Role.DISTRICT_APPROVER)
        or not region_in_scope(by, enrolment.household.region)
    ):
        raise PermissionDenied(_("只有区县民政审批人可以变更在保待遇。"))
    if enrolment.status not in allowed:
        raise Conflict(
            _("该在保记录当前为“%(s)s”，不能进行此项变更。") % {"s": enrolment.get_status_display()},
            path="status",
        )
    return enrolment


def _written_reason(reason: Any, errors: dict[str, str]) -> str:
    text = str(reason or "").strip()
    if not text:
        errors["reason"] = _("须书面说明理由（条例第二十九条）。")
    return text[:2000]


def _change_month(raw: Any, enrolment: Enrolment, errors: dict[str, str], key: str) -> datetime.date | None:
    if not isinstance(raw, datetime.date):
        errors[key] = _("请填写生效月份。")
        return None
    month = first_of_month(raw)
    if month < enrolment.from_month:
        errors[key] = _("生效月份不能早于起始月份（%(m)s）。") % {"m": enrolment.from_month.strftime("%Y-%m")}
        return None
    return month


def _ledger(
    enrolment: Enrolment,
    kind: str,
    month: datetime.date,
    by: Any,
    before: dict,
    reason: str,
    *,
    case: Any = None,
    extra: dict | None = None,
) -> EnrolmentChange:
    after = _enrolment_snapshot(enrolment)
    change = EnrolmentChange.objects.create(
        enrolment=enrolment,
        kind=kind,
        effective_month=month,
        at=_now(),
        by=by,
        by_label=_label(by),
        before=before,
        after=after | (extra or {}),
        reason=reason,
        case=case,
    )
    record(actor=by, action=AuditAction.UPDATE, obj=enrolment, before=before, after=after, reason=reason)
    announce(change)
    return change


@transaction.atomic
def change_amount(
    *,
    enrolment: Enrolment,
    by: Any,
    amount: Any,
    effective_month: Any,
    reason: Any,
    case: Any = None,
    extra: dict | None = None,
) -> EnrolmentChange:
    """调整金额: 增发 (a raise) is always allowed; 减发 (a reduction) is refused when its first month lies in
    the district's emergency window (一(一)b). The new monthly amount is paid from `effective_month`;
    for dibao the household's last amount (what R1 reads) follows."""
    enrolment = _changing(enrolment, by, (EnrolmentStatus.ACTIVE,))
    errors: dict[str, str] = {}
    try:
        new = int(str(amount).strip())
    except (TypeError, ValueError):
        errors["amount"] = _("请填写月救助金（整数元）。")
        new = None
    if new is not None and not 0 < new <= MAX_MONTHLY_YUAN:
        errors["amount"] = _("月救助金应大于0（停止发放请用停发或退出）。") if new <= 0 else _("金额过大。")
    month = _change_month(effective_month, enrolment, errors, "effective_month")
    reason = _written_reason(reason, errors)
    if errors:
        raise ValidationError(errors)
    if new == enrolment.monthly_amount:
        raise ValidationError({"amount": _("与现发金额相同，无需调整。")})
    if new < enrolment.monthly_amount:
        _window_guard(enrolment, month, _("减发"), "effective_month")
    before = _enrolment_snapshot(enrolment)
    enrolment.monthly_amount = new
    enrolment.save(update_fields=["monthly_amount"])
    if RULE_OF_SCHEME[enrolment.scheme].household_flags:
        household = Household.objects.select_for_update(of=("self",)).get(pk=enrolment.household_id)
        old = household.dibao_last_amount
        household.dibao_last_amount = new
        household.save(update_fields=["dibao_last_amount", "updated_at"])
        record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=household,
            before={"dibao_last_amount": old},
            after={"dibao_last_amount": new},
            reason=reason,
        )
    return _ledger(enrolment, ChangeKind.AMOUNT, month, by, before, reason, case=case, extra=extra)


@transaction.atomic
def suspend_enrolment(*, enrolment: Enrolment, by: Any, effective_month: Any, reason: Any) -> EnrolmentChange:
    """停发: payment pauses from `effective_month` (the first month not paid) until resumed; the household
    stays enrolled. Refused in the emergency window like a reduction (一(一)b)."""
    enrolment = _changing(enrolment, by, (EnrolmentStatus.ACTIVE,))
    errors: dict[str, str] = {}
    month = _change_month(effective_month, enrolment, errors, "effective_month")
    reason = _written_reason(reason, errors)
    if errors:
        raise ValidationError(errors)
    _window_guard(enrolment, month, _("停发"), "effective_month")
    before = _enrolment_snapshot(enrolment)
    enrolment.status = EnrolmentStatus.SUSPENDED
    enrolment.save(update_fields=["status"])
    return _ledger(enrolment, ChangeKind.SUSPENDED, month, by, before, reason)


@transaction.atomic
def resume_enrolment(*, enrolment: Enrolment, by: Any, effective_month: Any, reason: Any) -> EnrolmentChange:
    """恢复发放: a suspended enrolment is paid again from `effective_month` (always allowed: it pays more)."""
    enrolment = _changing(enrolment, by, (EnrolmentStatus.SUSPENDED,))
    errors: dict[str, str] = {}
    month = _change_month(effective_month, enrolment, errors, "effective_month")
    reason = _written_reason(reason, errors)
    suspended = enrolment.changes.filter(kind=ChangeKind.SUSPENDED).order_by("-at", "-pk").first()
    if month and suspended and month < suspended.effective_month:
        errors["effective_month"] = _("恢复月份不能早于停发月份（%(m)s）。") % {
            "m": suspended.effective_month.strftime("%Y-%m")
        }
    if errors:
        raise ValidationError(errors)
    before = _enrolment_snapshot(enrolment)
    enrolment.status = EnrolmentStatus.ACTIVE
    enrolment.save(update_fields=["status"])
    return _ledger(enrolment, ChangeKind.RESUMED, month, by, before, reason)


@transaction.atomic
def exit_enrolment(
    *, enrolment: Enrolment, by: Any, end_month: Any, reason: Any, case: Any = None
) -> EnrolmentChange:
    """退出: the last month paid is `end_month`; refused when the month after it (the first not paid)
    lies in the emergency window (一(一)b). The write is `end_enrolment`."""
    enrolment = _changing(enrolment, by, ENROLLED)
    errors: dict[str, str] = {}
    month = None
    if not isinstance(end_month, datetime.date):
        errors["end_month"] = _("请填写最后发放月份。")
    else:
        month = first_of_month(end_month)
    reason = _written_reason(reason, errors)
    if errors:
        raise ValidationError(errors)
    _window_guard(enrolment, month_last_day(month) + datetime.timedelta(days=1), _("退出"), "end_month")
    end_enrolment(enrolment=enrolment, by=by, end_month=month, reason=reason, case=case)
    return enrolment.changes.filter(kind=ChangeKind.ENDED).latest("at", "pk")


@transaction.atomic
def apply_recheck_outcomes(*, run: Any, by: Any) -> dict[str, int]:
    """复核结果落实 (一(一)c): the raises a monthly re-check found in the approver's region are paid from
    the run's month. Reductions and exits are never applied here: while the window is open they stay on
    the deferred list (暂缓减发/退出清单), and after it each is an officer's decision with a written
    reason and a notice (`change_amount`, `exit_enrolment`), offered by selectors.recheck_proposals.
    Idempotent: an outcome already applied, or whose household's amount changed since the check, is
    skipped."""
    from doudi.verification.models import Change, RecheckOutcome, RunStatus

    if by is None or not by.has_role(Role.DISTRICT_APPROVER):
        raise PermissionDenied(_("只有区县民政审批人可以落实复核结果。"))
    if run.status != RunStatus.FINISHED:
        raise Conflict(_("该月度复核尚未完成。"), path="run")
    month = datetime.date(int(run.month[:4]), int(run.month[5:7]), 1)
    counts = {"applied": 0, "already": 0, "stale": 0}
    outcomes = RecheckOutcome.objects.visible_to(by).filter(run=run, change=Change.RAISE, deferred=False)
    enrolments = {
        e.household_id: e
        for e in Enrolment.objects.filter(
            household_id__in=outcomes.values("household_id"),
            scheme=Scheme.DIBAO,
            status=EnrolmentStatus.ACTIVE,
        )
    }
    done = set(
        EnrolmentChange.objects.filter(
            enrolment__in=list(enrolments.values()), after__recheck_run=run.month
        ).values_list("after__recheck_outcome", flat=True)
    )
    for o in outcomes.order_by("pk"):
        enrolment = enrolments.get(o.household_id)
        if o.pk in done:
            counts["already"] += 1
            continue
        if (
            enrolment is None
            or enrolment.monthly_amount != o.last_amount
            or o.proposed_amount <= o.last_amount
        ):
            counts["stale"] += 1  # ended, or changed by hand since the check: an officer looks again
            continue
        try:
            with transaction.atomic():
                change_amount(
                    enrolment=enrolment,
                    by=by,
                    amount=o.proposed_amount,
                    effective_month=month,
                    reason=_("%(m)s 月度动态复核：按核对的收入和财产增发，月低保金 %(l)s 元调整为 %(a)s 元。")
                    % {"m": run.month, "l": o.last_amount, "a": o.proposed_amount},
                    extra={"recheck_run": run.month, "recheck_outcome": o.pk},
                )
        except (ValidationError, Conflict):
            counts["stale"] += 1
            continue
        counts["applied"] += 1
    record(
        actor=by,
        action=AuditAction.UPDATE,
        object_type="verification.recheckrun",
        object_id=str(run.pk),
        region_path=by.region.path,
        after=counts,
        reason=_("落实 %(m)s 月度复核的增发") % {"m": run.month},
    )
    return counts


# --- the end of the emergency window (疫情防控期结束): preview, maker-checker approval, the changes ------------

WINDOW_END_PREPARERS = (Role.DISTRICT_OFFICER, Role.DISTRICT_APPROVER, Role.MUNICIPAL_ADMIN)


def _next_month(day: datetime.date) -> datetime.date:
    return month_last_day(day) + datetime.timedelta(days=1)


def declared_window_end(region: Any) -> tuple[datetime.date, datetime.date]:
    """The declared window (start, end) a preview of a district or the city follows; refused while its
    end is not declared (the deferrals still hold)."""
    from doudi.regions.selectors import city_policy_window, policy_window_for

    window = city_policy_window() if region.level == 1 else policy_window_for(region.code)
    if window is None or window[1] is None:
        raise ValidationError(
            {
                "region": _(
                    "%(r)s的疫情防控期间尚未宣布结束：暂缓的减发、退出和年满18周岁停发仍须继续发放（渝肺炎组发〔2020〕14号 一(一)、一(四)）。"
                )
                % {"r": region.name}
            }
        )
    return window[0], window[1]


@transaction.atomic
def prepare_window_end(*, region: Any, by: Any) -> Any:
    """编制影响预览: a preview of what the first month after the declared end of the window changes in a
    district (or the city); computed after (`compute_window_end`, a task from the console). A newer
    preview replaces an unapproved one of the same scope; once approved, the scope's preview is final."""
    from doudi.benefits.models import ReviewStatus, WindowEndReview

    if (
        by is None
        or not by.has_role(*WINDOW_END_PREPARERS)
        or region is None
        or not region_in_scope(by, region)
    ):
        raise PermissionDenied(_("只有本区县民政经办人、审批人或市民政管理员可以编制影响预览。"))
    if region.level not in (1, 2):
        raise ValidationError({"region": _("请选择全市或一个区县。")})
    start, end = declared_window_end(region)
    month = _next_month(end)
    earlier = WindowEndReview.objects.select_for_update().filter(region=region, month=month)
    if earlier.filter(approvals__isnull=False).exists():
        raise Conflict(
            _("该范围 %(m)s 的影响预览已审批，不能重新编制。") % {"m": month.strftime("%Y-%m")}, path="region"
        )
    earlier.exclude(status=ReviewStatus.SUPERSEDED).update(status=ReviewStatus.SUPERSEDED)
    review = WindowEndReview.objects.create(
        region=region, window_start=start, window_end=end, month=month, prepared_by=by, prepared_at=_now()
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=review,
        region_path=region.path,
        after={"region": region.code, "window_end": end.isoformat(), "month": month.strftime("%Y-%m")},
        reason=_("编制疫情防控期结束影响预览"),
    )
    return review


def _window_end_reason(kind: str, scheme: str, c: Any, review: Any, names: dict[int, str]) -> str:
    """The written reason of a change (条例第二十九条), from the rule that makes it."""
    last = (review.month - datetime.timedelta(days=1)).strftime("%Y-%m")
    window = _("疫情防控期间（%(s)s 至 %(e)s）已宣布结束。") % {
        "s": review.window_start.isoformat(),
        "e": review.window_end.isoformat(),
    }
    values = {
        "before": c.before,
        "after": c.after,
        "month": review.month.strftime("%Y-%m"),
        "last": last,
        "scheme": Scheme(scheme).label if scheme in Scheme.values else scheme,
    }
    if kind == "reduce" and scheme == Scheme.DIBAO:
        text = _(
            "经核算，您家的低保金应为每月 %(after)s 元，疫情防控期间按规定暂缓减发，仍按每月 %(before)s 元发放"
            "（渝肺炎组发〔2020〕14号 一(一)）。自 %(month)s 起调整为每月 %(after)s 元。"
        )
    elif kind == "reduce":
        text = _("经核算，%(scheme)s月救助金应为 %(after)s 元（现发 %(before)s 元），自 %(month)s 起调整。")
    elif kind == "exit" and scheme == Scheme.DIBAO:
        text = _(
            "经核算，您家的收入或财产已不符合最低生活保障条件，疫情防控期间按规定暂缓退出（渝肺炎组发〔2020〕14号 一(一)）。"
            "按规定退出最低生活保障，发放至 %(last)s，自 %(month)s 起停止。"
        )
    elif kind == "exit":
        text = _("经核算，已不符合%(scheme)s条件，按规定退出，发放至 %(last)s，自 %(month)s 起停止。")
    elif kind == "age_out":
        values |= {"name": names.get(c.person, ""), "adult": c.detail.get("adult_on", "")}
        text = _(
            "%(name)s已于 %(adult)s 年满18周岁，疫情防控期间按规定延续发放儿童基本生活保障金（渝肺炎组发〔2020〕14号 一(四)）。"
            "按规定发放至 %(last)s，自 %(month)s 起停止。"
        )
    elif kind == "covid_stop" and c.detail.get("discharged_on"):
        values |= {"d": c.detail["discharged_on"]}
        text = _(
            "您已于 %(d)s 出院，新冠肺炎确诊患者临时救助按规定发放至 %(last)s"
            "（不足一个月按一个月，渝肺炎组发〔2020〕14号 一(五)），自 %(month)s 起停止。"
        )
    elif kind == "covid_stop" and c.detail.get("died_on"):
        values |= {"d": c.detail["died_on"]}
        text = _(
            "患者已于 %(d)s 病故，新冠肺炎确诊患者临时救助按规定发放至 %(last)s"
            "（不足一个月按一个月，渝肺炎组发〔2020〕14号 一(五)），自 %(month)s 起停止。"
        )
    elif kind == "covid_stop":
        text = _(
            "自 %(month)s 起不再属于低保对象、特困人员等救助对象，新冠肺炎确诊患者临时救助发放至 %(last)s"
            "（渝肺炎组发〔2020〕14号 一(五)）。"
        )
    else:  # documents
        values |= {"items": "、".join(c.detail.get("items", [])), "due": c.detail.get("due_on", "")}
        text = _(
            "申请时按个人承诺暂缓提交的材料（%(items)s）请于 %(due)s 前补交"
            "（渝肺炎组发〔2020〕14号 一(四)：其他手续可待疫情结束后补办）。"
        )
    return window + text % values


def _link_deferred_reports(changes: list[Any], districts: list[str], paths: dict[str, str]) -> list[dict]:
    """Each deferred change report (变化报告暂缓执行) of the districts whose reduction or exit the preview
    makes is linked to that change, which closes it when applied. Returns the reports left: those the
    rules no longer call for on the data now (apply_deferred, by hand, re-evaluates them)."""
    from doudi.intake.workflows import change_report

    scope = Q(pk__in=[])
    for d in districts:
        scope |= Q(region__path__startswith=paths[d])
    reports = change_report.deferred_reports(scope)
    for c in changes:
        case = reports.pop(c.enrolment, None) if c.kind in ("reduce", "exit") else None
        if case is not None:
            c.detail["case"] = case.pk
            c.detail["change_report"] = case.tracking_number
    return [
        {"case": c.pk, "tracking": c.tracking_number} for c in sorted(reports.values(), key=lambda c: c.pk)
    ]


def _due_documents(districts: list[str], paths: dict[str, str]) -> list[Any]:
    """Children's cases of the districts with proofs deferred under a commitment in a window that has
    ended, still missing: each falls due N working days after that end."""
    from doudi.benefits.window_end import Change
    from doudi.intake.models import Case
    from doudi.intake.workflows import children

    found = []
    cases = Case.objects.filter(case_type="children").select_related("region", "household", "applicant")
    scope = Q(pk__in=[])
    for d in districts:
        scope |= Q(region__path__startswith=paths[d])
    for case in cases.filter(scope).order_by("pk"):
        pending = [i for i in children.deferred_checklist(case) if not i.done]
        due = children.deferred_due_on(case)
        if not pending or due is None:
            continue
        household = case.household or (_person_household(case.applicant) if case.applicant_id else None)
        if household is None:
            continue
        found.append(
            Change(
                kind="documents",
                scheme=Scheme.CHILDREN,
                district=case.region.district_code or "",
                household=household.pk,
                person=case.applicant_id,
                enrolment=None,
                persons=1,
                before=0,
                after=0,
                detail={"case": case.pk, "due_on": due.isoformat(), "items": [i.label for i in pending]},
            )
        )
    return found


def compute_window_end(review: Any, *, progress: Callable[[str, int], None] | None = None) -> Any:
    """Compute a preview from a snapshot frozen for it (the payroll's reader and rules) and write its
    items once. Run again after a failure, it starts afresh; a superseded preview is left alone."""
    import traceback

    from doudi.benefits import window_end
    from doudi.benefits.models import ReviewStatus, WindowEndItem, WindowEndReview
    from doudi.payments import payroll
    from doudi.payments.services import data_dir, frozen_parameters
    from doudi.policy.periods import Period
    from doudi.regions.models import Region

    def report(stage: str, percent: int) -> None:
        WindowEndReview.objects.filter(pk=review.pk).update(stage=stage, percent=percent)
        if progress is not None:
            progress(stage, percent)

    try:
        month = Period.parse(review.month.strftime("%Y-%m"))
        report("reading", 5)
        directory = data_dir() / "window-end" / str(review.pk)
        frozen = payroll.freeze(directory, payroll.read_database(month), frozen_parameters(month))
        _params, windows = payroll.load_parameters(directory)
        districts = Region.objects.filter(level=2)
        if review.region.level == 2:
            districts = districts.filter(pk=review.region.pk)
        paths = dict(districts.values_list("code", "path"))
        preview = window_end.compute(directory, month, sorted(paths), windows, progress=report)
        changes = preview.changes + _due_documents(
            [d for d in sorted(paths) if d not in preview.excluded], paths
        )
        reports_left = _link_deferred_reports(
            changes, [d for d in sorted(paths) if d not in preview.excluded], paths
        )
        names = dict(
            Person.objects.filter(pk__in=[c.person for c in changes if c.kind == "age_out"]).values_list(
                "pk", "name"
            )
        )
        items = [
            WindowEndItem(
                review=review,
                kind=c.kind,
                scheme=c.scheme,
                district=c.district,
                household_id=c.household,
                person_id=c.person,
                enrolment_id=c.enrolment,
                case_id=c.detail.get("case"),
                persons=c.persons,
                before_amount=c.before,
                after_amount=c.after,
                reason=_window_end_reason(c.kind, c.scheme, c, review, names),
                detail=c.detail,
            )
            for c in changes
        ]
        counts: dict[str, int] = {}
        for c in changes:
            counts[c.kind] = counts.get(c.kind, 0) + 1
        with transaction.atomic():
            locked = WindowEndReview.objects.select_for_update().get(pk=review.pk)
            if locked.status != ReviewStatus.COMPUTING:
                return locked  # superseded meanwhile: its items are not wanted
            WindowEndItem.objects.filter(review=review).delete()
            WindowEndItem.objects.bulk_create(items, batch_size=2000)
            WindowEndReview.objects.filter(pk=review.pk).update(
                status=ReviewStatus.READY,
                stage="finished",
                percent=100,
                computed_at=_now(),
                summary={
                    "totals": preview.totals,
                    "counts": counts,
                    "excluded": preview.excluded,
                    # Deferred change reports the rules no longer call for: carried out (or closed) by hand.
                    "reports_left": reports_left,
                    "snapshot_sha256": frozen.sha256,  # the data the preview was computed on
                    "snapshot_rows": frozen.rows,
                },
            )
    except Exception:
        WindowEndReview.objects.filter(pk=review.pk, status=ReviewStatus.COMPUTING).update(
            status=ReviewStatus.FAILED, error=traceback.format_exc()[-4000:]
        )
        raise
    if progress is not None:
        progress("finished", 100)
    review.refresh_from_db()
    return review


@transaction.atomic
def approve_window_end(*, review: Any, by: Any, note: Any = "") -> Any:
    """审批 (maker-checker): a district approver approves the district's part of a computed preview —
    never the one who prepared it, once only (a second approval is a conflict, not a second change),
    and not after the payroll of the month is frozen (it would not pay the changes). The changes are
    applied after (`apply_window_end`, with progress)."""
    from doudi.benefits.models import ReviewStatus, WindowEndApproval, WindowEndReview
    from doudi.core.text import clean_text
    from doudi.payments.models import PayrollRun

    review = WindowEndReview.objects.select_for_update().select_related("region").get(pk=review.pk)
    district = getattr(by, "region", None)
    if (
        by is None
        or not by.has_role(Role.DISTRICT_APPROVER)
        or district is None
        or district.level != 2
        or not district.path.startswith(review.region.path)
    ):
        raise PermissionDenied(_("只有本区县民政审批人可以审批影响预览。"))
    if review.prepared_by_id == by.pk:
        raise PermissionDenied(_("编制人不能审批自己编制的影响预览，请由另一位审批人审批。"))
    if WindowEndApproval.objects.filter(review=review, district=district).exists():
        raise Conflict(_("%(d)s已审批该影响预览，不能重复审批。") % {"d": district.name}, path="review")
    if review.status != ReviewStatus.READY:
        raise Conflict(
            _("该影响预览当前为“%(s)s”，不能审批。") % {"s": review.get_status_display()}, path="review"
        )
    if district.code in (review.summary or {}).get("excluded", []):
        raise ValidationError({"review": _("%(d)s的疫情防控期间尚未结束。") % {"d": district.name}})
    month = review.month.strftime("%Y-%m")
    if PayrollRun.objects.filter(month=month, round=0).exclude(snapshot_sha256="").exists():
        raise Conflict(
            _("%(m)s 的发放花名册已冻结，审批后的变更不会进入该月发放。请在冻结前审批。") % {"m": month},
            path="review",
        )
    try:
        with transaction.atomic():
            approval = WindowEndApproval.objects.create(
                review=review, district=district, by=by, at=_now(), note=clean_text(note)[:500]
            )
    except IntegrityError as exc:
        raise Conflict(
            _("%(d)s已审批该影响预览，不能重复审批。") % {"d": district.name}, path="review"
        ) from exc
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=review,
        region_path=district.path,
        after={"approved": district.code, "month": month},
        reason=_("审批疫情防控期结束影响预览"),
    )
    return approval


def _close_deferred_report(item: Any, by: Any, change: EnrolmentChange) -> None:
    """The deferred change report the item carries out closes with it (in the item's transaction)."""
    from doudi.intake.models import Case
    from doudi.intake.workflows import change_report

    case = Case.objects.get(pk=item.case_id)
    if case.state == change_report.DEFERRED:
        change_report.carried_out_at_window_end(case=case, by=by, change=change, reason=item.reason)


def apply_window_end(approval: Any, *, progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """落实: each item of the approved district through the benefits services — a reduction from the
    first month after the window (`change_amount`), an exit or age-out whose last month paid is the
    window's last month (`exit_enrolment`) — with the generated reason, in the enrolment ledger with its
    notice. Each item in its own transaction, marked with its ledger entry: run again (after a crash),
    it applies only what is left. An enrolment changed since the preview is not touched (stale)."""
    from doudi.benefits.models import (
        ItemOutcome,
        ReviewStatus,
        WindowEndApproval,
        WindowEndItem,
        WindowEndReview,
    )

    review = approval.review
    by = approval.by
    items = WindowEndItem.objects.filter(review=review, district=approval.district.code)
    todo = list(items.filter(outcome=ItemOutcome.PENDING).order_by("pk").values_list("pk", flat=True))
    last_month = review.month - datetime.timedelta(days=1)
    for n, pk in enumerate(todo, 1):
        with transaction.atomic():
            item = WindowEndItem.objects.select_for_update(of=("self",)).get(pk=pk)
            if item.outcome != ItemOutcome.PENDING:
                continue
            change = None
            outcome = ItemOutcome.APPLIED
            if item.enrolment_id:
                enrolment = Enrolment.objects.get(pk=item.enrolment_id)
                if (
                    enrolment.status != EnrolmentStatus.ACTIVE
                    or enrolment.monthly_amount != item.before_amount
                ):
                    outcome = ItemOutcome.STALE
                else:
                    try:
                        with transaction.atomic():
                            if item.kind == "reduce":
                                change = change_amount(
                                    enrolment=enrolment,
                                    by=by,
                                    amount=item.after_amount,
                                    effective_month=review.month,
                                    reason=item.reason,
                                    extra={"window_end_review": review.pk, "window_end_item": item.pk},
                                )
                            else:
                                change = exit_enrolment(
                                    enrolment=enrolment, by=by, end_month=last_month, reason=item.reason
                                )
                    except (ValidationError, Conflict, PermissionDenied):
                        outcome = ItemOutcome.STALE
            if change is not None and item.case_id and item.detail.get("change_report"):
                _close_deferred_report(item, by, change)
            WindowEndItem.objects.filter(pk=pk).update(outcome=outcome, change=change, applied_at=_now())
        if progress is not None or n % 50 == 0 or n == len(todo):
            percent = int(100 * n / len(todo))
            WindowEndApproval.objects.filter(pk=approval.pk).update(percent=percent)
            if progress is not None:
                progress("applying", percent)
    counts = {o or "pending": c for o, c in items.values_list("outcome").annotate(c=Count("pk")).order_by()}
    WindowEndApproval.objects.filter(pk=approval.pk).update(percent=100, finished_at=_now(), counts=counts)
    if not WindowEndItem.objects.filter(review=review, outcome=ItemOutcome.PENDING).exists():
        WindowEndReview.objects.filter(pk=review.pk, status=ReviewStatus.READY).update(
            status=ReviewStatus.APPLIED
        )
    record(
        actor=by,
        action=AuditAction.UPDATE,
        obj=review,
        region_path=approval.district.path,
        after=counts,
        reason=_("落实疫情防控期结束的变更"),
    )
    return counts
