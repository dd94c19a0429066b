"""Reads of 资金发放, every one about a person scoped to the caller's region subtree (`.visible_to`).
Account numbers leave these selectors in full; templates and exports show them masked
(`mask_account`), and only the bank's payment file carries the full number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import QuerySet

from doudi.payments import payroll
from doudi.payments.models import (
    AccountStatus,
    ArrearsReduction,
    Bank,
    BankFile,
    PayeeAccount,
    PaymentLine,
    PayrollBatch,
    PayrollRun,
    PayrollTransition,
    PayScheme,
)

if TYPE_CHECKING:
    from doudi.accounts.models import User
    from doudi.registry.models import Person


def banks() -> QuerySet[Bank]:
    """The paying banks an officer may choose (代发银行 in use)."""
    return Bank.objects.filter(active=True).order_by("code")


def active_account(user: User, person: Person) -> PayeeAccount | None:
    """The account the person's payments go to now, if the user may see the person."""
    return (
        PayeeAccount.objects.visible_to(user)
        .filter(person=person, status=AccountStatus.ACTIVE)
        .select_related("bank")
        .first()
    )


def pending_accounts(user: User) -> QuerySet[PayeeAccount]:
    """待复核账户变更: the proposals waiting for a checker in the user's subtree, oldest first."""
    return (
        PayeeAccount.objects.visible_to(user)
        .filter(status=AccountStatus.PENDING)
        .select_related("person__region", "bank", "proposed_by")
        .order_by("proposed_at", "pk")
    )


def current_accounts(user: User, person_ids) -> dict[int, PayeeAccount]:
    """The active account of each person in the queue, to show what a proposal would replace."""
    rows = (
        PayeeAccount.objects.visible_to(user)
        .filter(person_id__in=list(person_ids), status=AccountStatus.ACTIVE)
        .select_related("bank")
    )
    return {a.person_id: a for a in rows}


@dataclass
class PersonAccounts:
    """The person page's 收款账户 card: the active account, the waiting proposal, the history."""

    active: PayeeAccount | None
    pending: PayeeAccount | None
    history: list[PayeeAccount]


def person_accounts(user: User, person: Person, *, limit: int = 20) -> PersonAccounts:
    rows = list(
        PayeeAccount.objects.visible_to(user)
        .filter(person=person)
        .select_related("bank", "proposed_by", "decided_by")
        .order_by("-proposed_at", "-pk")[:limit]
    )
    active = next((a for a in rows if a.status == AccountStatus.ACTIVE), None)
    if active is None:  # older than the history shown
        active = active_account(user, person)
    pending = next((a for a in rows if a.status == AccountStatus.PENDING), None)
    return PersonAccounts(active=active, pending=pending, history=rows)


# --- the monthly payroll ---------------------------------------------------------------------------

# The review's categories (发放审核): how a line is picked for each.
LINE_KINDS = ("new", "changed", "held", "deferred", "decision")


def payroll_runs() -> QuerySet[PayrollRun]:
    """Every payroll run (a city-wide record without personal data); each user sees only the batches
    and lines of their own subtree."""
    return PayrollRun.objects.select_related("created_by").order_by("-month", "-round")


# Enrolment changes that alter what a month already paid was due (a reduction dated back is listed by
# the arrears run, not clawed back).
BACKDATED_KINDS = ("enrolled", "amount", "resume")


def backdated_changes(months: int = 12) -> list[dict]:
    """追溯变更待补发: for each of the last `months` months with a computed payroll, how many enrolment
    changes recorded after it was frozen (and after the last computed arrears run covering it) take
    effect in it or earlier — what an arrears run over that month would now pay (payments/arrears.py).
    Counts only: a city-wide figure without personal data."""
    from django.db.models import Max

    from doudi.benefits.models import EnrolmentChange
    from doudi.payments.models import RunKind, RunStatus
    from doudi.policy.periods import Period

    paid = PayrollRun.objects.filter(kind=RunKind.PAYROLL, round=0, status=RunStatus.COMPUTED).order_by(
        "-month"
    )
    out = []
    for run in paid[:months]:
        covered = PayrollRun.objects.filter(
            kind=RunKind.ARREARS,
            status=RunStatus.COMPUTED,
            arrears_from__lte=run.month,
            arrears_to__gte=run.month,
        ).aggregate(at=Max("frozen_at"))["at"]
        since = max((t for t in (run.frozen_at, covered) if t is not None), default=None)
        first = Period.parse(run.month).first_day
        changes = EnrolmentChange.objects.filter(
            kind__in=BACKDATED_KINDS, effective_month__lte=first, enrolment__from_month__lte=first
        )
        count = changes.filter(at__gt=since).count() if since else 0
        if count:
            out.append({"month": run.month, "count": count})
    return out


def payroll_batches(user: User, run: PayrollRun) -> QuerySet[PayrollBatch]:
    return PayrollBatch.objects.visible_to(user).filter(run=run).select_related("district", "prepared_by")


def batch_ledger(user: User, run: PayrollRun) -> QuerySet[PayrollTransition]:
    return (
        PayrollTransition.objects.visible_to(user)
        .filter(batch__run=run)
        .select_related("batch__district")
        .order_by("batch__district_id", "seq")
    )


@dataclass
class ReviewRow:
    district: str
    district_name: str
    scheme: str
    scheme_label: str
    count: int
    total_fen: int
    previous_total_fen: int
    new: int
    changed: int
    held: int
    deferred: int
    needs_decision: int
    stopped: int

    @property
    def difference_fen(self) -> int:
        return self.total_fen - self.previous_total_fen


def payroll_review(user: User, run: PayrollRun) -> dict:
    """发放审核: per district and scheme of the user's subtree — lines, totals, what is new, changed,
    held, deferred, waiting for a decision and stopped against last month — with totals per scheme and
    the chart's series (this month against last month, per district). Read from the batches'
    summaries, computed with the lines: no pass over the lines here."""
    rows: list[ReviewRow] = []
    labels = dict(PayScheme.choices)
    for batch in payroll_batches(user, run):
        for scheme in (s for s in PayScheme.values if s in batch.summary):
            s = batch.summary[scheme]
            rows.append(
                ReviewRow(
                    batch.district_id,
                    batch.district.name,
                    scheme,
                    str(labels[scheme]),
                    s["count"],
                    s["total_fen"],
                    s["previous_total_fen"],
                    s["new"],
                    s["changed"],
                    s["held"],
                    s["deferred"],
                    s["needs_decision"],
                    s["stopped"],
                )
            )
    totals: dict[str, dict[str, int]] = {}
    for r in rows:
        t = totals.setdefault(
            r.scheme_label,
            dict.fromkeys((f for f in payroll.SUMMARY_FIGURES if f != "stopped_fen"), 0),
        )
        for key in t:
            t[key] += getattr(r, key)
    districts: dict[str, list[int]] = {}
    for r in rows:
        d = districts.setdefault(r.district_name, [0, 0])
        d[0] += r.total_fen
        d[1] += r.previous_total_fen
    chart = {
        "labels": list(districts),
        "current": [v[0] / 100 for v in districts.values()],
        "previous": [v[1] / 100 for v in districts.values()],
    }
    return {"rows": rows, "totals": totals, "chart": chart}


def payroll_lines(
    user: User, run: PayrollRun, *, district: str = "", scheme: str = "", kind: str = ""
) -> QuerySet[PaymentLine]:
    """The lines of a run (those it issues, for a follow-up) in the user's subtree, by district and
    household. `kind` picks one review category (LINE_KINDS)."""
    qs = (
        PaymentLine.objects.visible_to(user).filter(issue_run=run)
        if run.is_follow_up
        else PaymentLine.objects.visible_to(user).filter(run=run)
    )
    if district:
        qs = qs.filter(district=district)
    if scheme:
        qs = qs.filter(scheme=scheme)
    if kind == "new":
        qs = qs.filter(change="new")
    elif kind == "changed":
        qs = qs.filter(change="changed")
    elif kind == "held":
        qs = qs.filter(status="held")
    elif kind == "deferred":
        qs = qs.filter(flag__in=["deferred_hold", "deferred_exit"])
    elif kind == "decision":
        qs = qs.filter(flag__in=["reduce", "exit"])
    return qs.select_related("person", "region").order_by("district", "household_id", "scheme", "person_id")


def bank_files(run: PayrollRun) -> QuerySet[BankFile]:
    return BankFile.objects.filter(run=run).select_related("bank").prefetch_related("returns")


def case_payments(user: User, case) -> QuerySet[PaymentLine]:
    """The payment line of a 临时救助 / 一事一议 / 先行救助 case (keyed by the case), if the user may see
    its payee's village: what the case page shows under 代发情况."""
    return (
        PaymentLine.objects.visible_to(user)
        .filter(scheme=case.case_type, beneficiary_id=case.pk)
        .order_by("pk")
    )


# --- arrears (补发差额) -----------------------------------------------------------------------------


@dataclass
class ArrearsRow:
    district: str
    district_name: str
    month: str
    scheme: str
    scheme_label: str
    count: int
    paid_fen: int  # already paid or issued for these lines' (beneficiary, scheme, month)
    total_fen: int  # the top-up

    @property
    def due_fen(self) -> int:
        return self.paid_fen + self.total_fen


def arrears_review(user: User, run: PayrollRun) -> dict:
    """What an arrears run pays in the user's subtree, per district, owed month and scheme (paid
    before, due now, top-up), with totals per owed month, and the lower amounts it lists but does not
    claw back. Aggregated by the database: a few dozen groups."""
    from django.db.models import Count, Sum

    from doudi.regions.models import Region

    grouped = list(
        PaymentLine.objects.visible_to(user)
        .filter(run=run)
        .values("district", "month", "scheme")
        .annotate(count=Count("pk"), total=Sum("amount_fen"), paid=Sum("previous_fen"))
        .order_by("district", "month", "scheme")
    )
    names = dict(Region.objects.filter(code__in={g["district"] for g in grouped}).values_list("code", "name"))
    labels = dict(PayScheme.choices)
    rows = [
        ArrearsRow(
            g["district"],
            names.get(g["district"], g["district"]),
            g["month"],
            g["scheme"],
            str(labels.get(g["scheme"], g["scheme"])),
            g["count"],
            g["paid"] or 0,
            g["total"] or 0,
        )
        for g in grouped
    ]
    months: dict[str, dict[str, int]] = {}
    for r in rows:
        t = months.setdefault(r.month, {"count": 0, "paid_fen": 0, "total_fen": 0})
        t["count"] += r.count
        t["paid_fen"] += r.paid_fen
        t["total_fen"] += r.total_fen
    reduced = arrears_reductions(user, run).aggregate(n=Count("pk"), paid=Sum("paid_fen"), due=Sum("due_fen"))
    return {
        "rows": rows,
        "months": dict(sorted(months.items())),
        "reductions": {"count": reduced["n"] or 0, "fen": (reduced["paid"] or 0) - (reduced["due"] or 0)},
    }


def arrears_reductions(user: User, run: PayrollRun) -> QuerySet[ArrearsReduction]:
    """The lower amounts an arrears run found in the user's subtree (listed, never clawed back)."""
    return (
        ArrearsReduction.objects.visible_to(user)
        .filter(run=run)
        .select_related("person", "region")
        .order_by("district", "month", "household_id", "scheme", "beneficiary_id")
    )
