"""Reads of 经济状况核对. Everything about a household or a person is scoped with `.visible_to(user)`;
extracts and re-check runs are province-wide records without personal data (counts, dates, problems
by row number), readable by every console user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from doudi.audit.services import record_read
from doudi.core.scoping import get_visible_or_404
from doudi.policy.parameters import ParameterSet
from doudi.policy.periods import Period
from doudi.registry.models import Household, Membership
from doudi.verification.evaluation import Interval
from doudi.verification.extracts import extract_path
from doudi.verification.matching import ExtractFile, files_to_read
from doudi.verification.models import (
    CheckReport,
    Consent,
    Extract,
    ExtractStatus,
    RecheckOutcome,
    RecheckRun,
    RunStatus,
    Signal,
    SignalStatus,
)
from doudi.verification.sources import Source

# --- inputs of checks and re-checks --------------------------------------------------------------


def extract_files(as_of: date) -> list[ExtractFile]:
    """The stored files a check on `as_of` reads: per source the latest loaded extract dated on or
    before that day (all of them for an event source such as deaths)."""
    loaded: dict[Source, list[ExtractFile]] = {}
    rows = Extract.objects.filter(status=ExtractStatus.LOADED, extract_date__lte=as_of).values_list(
        "source", "extract_date"
    )
    for source, day in rows:
        s = Source(source)
        loaded.setdefault(s, []).append(ExtractFile(s, day, extract_path(settings.DOUDI_DATA_DIR, s, day)))
    return files_to_read(loaded)


def params_and_windows(
    district_codes: list[str] | None, month: Period
) -> tuple[ParameterSet, dict[int, Interval | None]]:
    """The parameters in force (the bureau's stored values over the YAML defaults) and the emergency
    window of each district for the month (None: the parameter default, 2020-01-24 open)."""
    from doudi.parameters.selectors import current_parameters
    from doudi.regions.selectors import policy_windows_by_district

    # The window in force on the month's last day, else the latest begun before it: a window that
    # ended during the month still puts the month in the window (POLICY §1).
    windows = policy_windows_by_district(district_codes, on=month.last_day)
    return current_parameters(), {int(code): window for code, window in windows.items()}


def consent_valid_on(day: date) -> Q:
    """A Consent signed by `day` and neither expired nor revoked on it."""
    return (
        Q(signed_on__lte=day)
        & (Q(valid_until__isnull=True) | Q(valid_until__gte=day))
        & (Q(revoked_on__isnull=True) | Q(revoked_on__gt=day))
    )


def valid_consent(household: Household, day: date) -> Consent | None:
    """The latest authorisation valid on `day`, or None."""
    return (
        Consent.objects.filter(consent_valid_on(day), household=household)
        .order_by("-signed_on", "-pk")
        .first()
    )


# --- extracts --------------------------------------------------------------------------------------


def extract_list() -> QuerySet[Extract]:
    return Extract.objects.select_related("loaded_by").order_by("-loaded_at", "-pk")


def extract_detail(pk: int) -> Extract:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(Extract, pk=pk)


# --- one household ---------------------------------------------------------------------------------


@dataclass
class HouseholdVerification:
    household: Household
    members: list[Membership]  # current, with their person
    consents: list[Consent]
    current_consent: Consent | None
    reports: list[CheckReport]


def household_verification(user: Any, household_pk: int, today: date) -> HouseholdVerification:
    household = get_visible_or_404(Household.objects.select_related("region"), user, pk=household_pk)
    members = list(
        Membership.objects.filter(household=household, left_on__isnull=True)
        .select_related("person")
        .order_by("pk")
    )
    consents = list(Consent.objects.filter(household=household).select_related("recorded_by", "revoked_by"))
    reports = list(
        CheckReport.objects.visible_to(user).filter(household=household).select_related("requested_by")[:50]
    )
    return HouseholdVerification(household, members, consents, valid_consent(household, today), reports)


def report_detail(user: Any, pk: int) -> CheckReport:
    """核对报告 with the members' figures: every staff read is logged (查阅记录)."""
    report = get_visible_or_404(
        CheckReport.objects.select_related("household__region", "consent", "requested_by"), user, pk=pk
    )
    record_read(actor=user, obj=report.household, reason="核对报告")
    return report


def latest_report(user: Any, household: Household) -> CheckReport | None:
    return (
        CheckReport.objects.visible_to(user)
        .filter(household=household)
        .order_by("-created_at", "-pk")
        .first()
    )


def verified_payload(report: CheckReport) -> dict[str, Any]:
    """The household as POLICY.md §4 input with verified incomes and assets: what the dibao workflow
    passes to `doudi.policy.contract.evaluate_request` ({"period": …, "households": [this]})."""
    return report.data["payload"]


# --- re-checks, signals, outcomes ------------------------------------------------------------------


def runs() -> QuerySet[RecheckRun]:
    return RecheckRun.objects.order_by("-month")


def run_detail(pk: int) -> RecheckRun:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(RecheckRun, pk=pk)


def signal_worklist(
    user: Any, *, run: RecheckRun | None = None, kind: str = "", status: str = SignalStatus.OPEN
) -> QuerySet[Signal]:
    """核对信号工作清单: the signals of the user's region subtree (an officer's own work-list)."""
    qs = Signal.objects.visible_to(user).select_related("region", "person", "run", "household")
    if run is not None:
        qs = qs.filter(run=run)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-run__month", "region_id", "household_id", "kind", "pk")


def signal_counts(user: Any, run: RecheckRun) -> dict[str, int]:
    rows = (
        Signal.objects.visible_to(user)
        .filter(run=run, status=SignalStatus.OPEN)
        .values("kind")
        .annotate(n=Count("id"))
    )
    return {r["kind"]: r["n"] for r in rows}


def latest_finished_run() -> RecheckRun | None:
    return RecheckRun.objects.filter(status=RunStatus.FINISHED).order_by("-month").first()


def outcomes(user: Any, run: RecheckRun, *, change: str = "") -> QuerySet[RecheckOutcome]:
    qs = RecheckOutcome.objects.visible_to(user).filter(run=run).select_related("region")
    if change:
        qs = qs.filter(change=change)
    return qs.order_by("region_id", "household_id")


def deferred_worklist(
    user: Any, run: RecheckRun | None = None
) -> tuple[RecheckRun | None, QuerySet[RecheckOutcome]]:
    """暂缓减发/退出清单: the reductions and exits the emergency window holds back, as found by the
    latest finished re-check (default), to be processed in the month after the window ends."""
    run = run or latest_finished_run()
    if run is None:
        return None, RecheckOutcome.objects.none()
    qs = RecheckOutcome.objects.visible_to(user).filter(run=run, deferred=True).select_related("region")
    return run, qs.order_by("region_id", "household_id")


# --- 复核周期 (条例第26条) ------------------------------------------------------------------------------


def overdue_rechecks(user: Any, today: date) -> QuerySet[Any]:
    """逾期未复核: recipient households in the user's subtree whose re-check month is over (条例第26条),
    the longest overdue first."""
    from doudi.verification.models import RecheckSchedule

    first = today.replace(day=1)
    return (
        RecheckSchedule.objects.visible_to(user)
        .filter(household__dibao_enrolled=True, next_due_on__lt=first)
        .select_related("household__region", "household__head")
        .order_by("next_due_on", "household_id")
    )


def due_rechecks(user: Any, today: date) -> QuerySet[Any]:
    """本月应复核: the households whose re-check falls due in this month."""
    from doudi.verification.models import RecheckSchedule

    first = today.replace(day=1)
    return (
        RecheckSchedule.objects.visible_to(user)
        .filter(
            household__dibao_enrolled=True, next_due_on__gte=first, next_due_on__lte=Period.of(today).last_day
        )
        .select_related("household__region", "household__head")
        .order_by("household__region_id", "household_id")
    )
