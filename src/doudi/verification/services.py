"""Writes of 经济状况核对: loading extracts, consent, checks, signal handling, the monthly re-check.

Each business action validates, writes in one transaction and appends to the audit log. The long
parts (reading a 10-million-row extract, the province-wide re-check) run outside any transaction;
only their short final write is atomic, so nothing is ever half-loaded or half-written.
"""

from __future__ import annotations

import logging
import tempfile
import time
import traceback
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role, is_acting_staff
from doudi.audit.models import AuditAction
from doudi.audit.services import record, record_read
from doudi.core.errors import Conflict
from doudi.core.scoping import region_in_scope
from doudi.policy.periods import Period
from doudi.registry.models import Household, Membership
from doudi.verification import check, extracts, recheck
from doudi.verification.dataio import replace_rows
from doudi.verification.evaluation import window_json
from doudi.verification.models import (
    CheckReport,
    Consent,
    ConsentChannel,
    Extract,
    ExtractStatus,
    RecheckOutcome,
    RecheckRun,
    RunStatus,
    Signal,
    SignalStatus,
)
from doudi.verification.selectors import consent_valid_on, extract_files, params_and_windows, valid_consent

log = logging.getLogger(__name__)

EXTRACT_LOADERS = (Role.MUNICIPAL_ADMIN, Role.DISTRICT_OFFICER)
CHECKERS = (Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER, Role.DISTRICT_APPROVER, Role.MUNICIPAL_ADMIN)
RECHECK_RUNNERS = (Role.MUNICIPAL_ADMIN,)
# A run whose progress has not moved for this long is taken to be dead (killed worker).
STALE_AFTER = timedelta(minutes=10)


def data_dir() -> Path:
    return Path(settings.DOUDI_DATA_DIR)


def _require_role(user: Any, roles: tuple[Role, ...], message: str) -> None:
    if user is None:
        return  # the system itself (a management command run by the operator)
    if not getattr(user, "is_authenticated", False) or not user.has_role(*roles):
        raise PermissionDenied(message)


def _require_actor(user: Any) -> None:
    if not is_acting_staff(user):
        raise PermissionDenied(_("您没有办理核对业务的权限"))


# --- extracts ------------------------------------------------------------------------------------


def load_extract(
    *, source: str, extract_date: date, path: Path, file_name: str, officer: Any = None
) -> Extract:
    """导入部门数据: validate the whole file; store it and record it as loaded, or record the refusal
    with its row-level report. Returns the Extract either way (check `.status`)."""
    _require_role(officer, EXTRACT_LOADERS, _("只有市民政管理员或区县民政经办人可以导入部门数据"))
    if source not in extracts.SCHEMAS:
        raise ValidationError({"source": _("未知的数据来源")})
    if not isinstance(extract_date, date):
        raise ValidationError({"extract_date": _("请填写数据日期")})
    fmt = extracts.detect_format(file_name)
    if not fmt:
        raise ValidationError({"file": _("只接受 CSV、XLSX 或 Parquet 文件")})
    if Extract.objects.filter(source=source, extract_date=extract_date, status=ExtractStatus.LOADED).exists():
        raise ValidationError(
            {"extract_date": _("该来源在这一日期的数据已经导入；已导入的数据不可替换，请使用新的数据日期")}
        )
    final = extracts.extract_path(data_dir(), source, extract_date)
    staging = final.with_name(f".{final.stem}.{timezone.now():%H%M%S%f}.loading")
    result = extracts.validate_and_store(
        path, source=source, fmt=fmt, destination=staging, data_dir=data_dir()
    )
    fields = dict(
        source=source,
        extract_date=extract_date,
        rows=result.rows,
        sha256=result.sha256,
        file_name=Path(file_name).name[:200],
        file_format=fmt,
        error_count=result.error_count,
        problems=[p.as_dict() for p in result.problems],
        ignored_columns=result.ignored_columns,
        loaded_by=officer,
        loaded_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            extract = Extract.objects.create(
                status=ExtractStatus.LOADED if result.ok else ExtractStatus.REFUSED, **fields
            )
            record(
                actor=officer,
                action=AuditAction.IMPORT,
                obj=extract,
                after={
                    "source": source,
                    "extract_date": extract_date,
                    "status": extract.status,
                    "rows": result.rows,
                    "errors": result.error_count,
                    "sha256": result.sha256,
                },
            )
            if result.ok:
                staging.replace(final)
    except IntegrityError:
        raise ValidationError({"extract_date": _("该来源在这一日期的数据已经导入")}) from None
    finally:
        staging.unlink(missing_ok=True)
    return extract


def load_extract_upload(*, source: str, extract_date: date, upload: Any, officer: Any) -> Extract:
    """The same, for a file uploaded through the console (copied to a temporary file first)."""
    tmp_dir = data_dir() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.name).suffix
    with tempfile.NamedTemporaryFile(dir=tmp_dir, suffix=suffix, delete=False) as tmp:
        for chunk in upload.chunks():
            tmp.write(chunk)
    try:
        return load_extract(
            source=source,
            extract_date=extract_date,
            path=Path(tmp.name),
            file_name=upload.name,
            officer=officer,
        )
    finally:
        Path(tmp.name).unlink(missing_ok=True)


# --- consent --------------------------------------------------------------------------------------


@transaction.atomic
def record_consent(
    *,
    household: Household,
    officer: Any,
    signed_on: date,
    signatories: str,
    document_number: str = "",
    valid_until: date | None = None,
) -> Consent:
    """登记核对授权书: the household's signed authorisation, recorded before any check."""
    _require_actor(officer)
    if not region_in_scope(officer, household.region):
        raise PermissionDenied(_("该家庭不在您的管辖范围内"))
    errors: dict[str, str] = {}
    signatories = (signatories or "").strip()
    if not signatories:
        errors["signatories"] = _("请填写签署授权书的家庭成员")
    if not isinstance(signed_on, date):
        errors["signed_on"] = _("请填写签署日期")
    elif signed_on > timezone.localdate():
        errors["signed_on"] = _("签署日期不能晚于今天")
    elif valid_until is not None and valid_until < signed_on:
        errors["valid_until"] = _("有效期不能早于签署日期")
    if errors:
        raise ValidationError(errors)
    consent = Consent.objects.create(
        household=household,
        signed_on=signed_on,
        signatories=signatories[:200],
        document_number=(document_number or "").strip()[:64],
        valid_until=valid_until,
        recorded_by=officer,
        recorded_at=timezone.now(),
    )
    record(
        actor=officer,
        action=AuditAction.CREATE,
        obj=consent,
        after={
            "household": household.pk,
            "signed_on": signed_on,
            "signatories": consent.signatories,
            "document_number": consent.document_number,
            "valid_until": valid_until,
        },
    )
    return consent


@transaction.atomic
def record_application_consent(
    *, household: Household, signed_on: date, signatory: str, reference: str
) -> Consent:
    """网上申请时的核对授权: the consent the applicant ticked on the portal, as the household's
    authorisation (the applicant signs, the portal is the channel, `reference` the tracking number).
    Recording it again for the same application returns the first."""
    existing = Consent.objects.filter(
        household=household, channel=ConsentChannel.PORTAL, document_number=reference
    ).first()
    if existing is not None:
        return existing
    consent = Consent.objects.create(
        household=household,
        signed_on=signed_on,
        signatories=signatory.strip()[:200],
        document_number=reference[:64],
        channel=ConsentChannel.PORTAL,
        recorded_at=timezone.now(),
    )
    record(
        actor=None,
        action=AuditAction.CREATE,
        obj=consent,
        after={
            "household": household.pk,
            "signed_on": signed_on,
            "signatories": consent.signatories,
            "document_number": consent.document_number,
            "channel": consent.channel,
        },
        reason=_("网上申请时勾选核对授权"),
    )
    return consent


@transaction.atomic
def revoke_consent(*, consent: Consent, officer: Any, revoked_on: date, reason: str) -> Consent:
    """撤回授权: no check may run from that day."""
    _require_actor(officer)
    consent = Consent.objects.select_for_update().select_related("household__region").get(pk=consent.pk)
    if not region_in_scope(officer, consent.household.region):
        raise PermissionDenied(_("该家庭不在您的管辖范围内"))
    if consent.revoked_on is not None:
        raise Conflict(_("该授权书已经撤回"), path="consent")
    if not (reason or "").strip():
        raise ValidationError({"reason": _("请填写撤回原因")})
    consent.revoked_on, consent.revoked_by, consent.revoke_reason = revoked_on, officer, reason.strip()[:200]
    consent.save(update_fields=["revoked_on", "revoked_by", "revoke_reason"])
    record(
        actor=officer,
        action=AuditAction.UPDATE,
        obj=consent,
        before={"revoked_on": None},
        after={"revoked_on": revoked_on},
        reason=consent.revoke_reason,
    )
    return consent


# --- one household ---------------------------------------------------------------------------------


def household_facts(household: Household, on: date) -> check.HouseholdFacts:
    """The household and its current members as the report needs them (declared figures)."""
    memberships = (
        Membership.objects.filter(household=household, left_on__isnull=True)
        .select_related("person")
        .prefetch_related("person__categories")
        .order_by("joined_on", "person_id")
    )
    members = []
    for m in memberships:
        p = m.person
        held = tuple(
            sorted(
                c.category
                for c in p.categories.all()
                if c.category in check.POLICY_CATEGORIES
                and c.valid_from <= on
                and (c.valid_to is None or c.valid_to >= on)
            )
        )
        members.append(
            check.Member(
                person_id=p.pk,
                id_number=p.id_number,
                name=p.name,
                birth_date=p.birth_date,
                income_fen={k: getattr(p, f"income_{k}_fen") for k in check.INCOME_KINDS},
                work=p.work,
                categories=held,
                orphan_care=p.orphan_care or None,
                covid={
                    "confirmed_on": p.covid_confirmed_on,
                    "discharged_on": p.covid_discharged_on,
                    "died_on": p.covid_died_on,
                },
            )
        )
    return check.HouseholdFacts(
        household_id=household.pk,
        region=household.region.district_code,
        area_type=household.area_type,
        enrolled=household.dibao_enrolled,
        last_amount=household.dibao_last_amount,
        deposits_fen=household.deposits_fen,
        vehicles=household.vehicles,
        houses=household.houses,
        members=tuple(members),
        other_assets={
            "securities": household.securities_fen,
            "claims": household.claims_fen,
            "boats": household.boats,
            "disability_vehicles": household.disability_vehicles,
        },
    )


def check_household(
    *, household: Household, officer: Any, period: Period | None = None, case_number: str = ""
) -> CheckReport:
    """核对: match every current member against the loaded extracts and save the report.

    Refused without a consent valid today (第五十八条): nothing is read from any extract then."""
    _require_role(officer, CHECKERS, _("只有乡镇街道、区县民政经办人可以发起核对"))
    if officer is not None and not region_in_scope(officer, household.region):
        raise PermissionDenied(_("该家庭不在您的管辖范围内"))
    today = timezone.localdate()
    consent = valid_consent(household, today)
    if consent is None:
        raise ValidationError({"consent": _("该家庭没有有效的核对授权书，不能核对。请先登记授权书。")})
    period = period or Period.of(today)
    facts = household_facts(household, today)
    if not facts.members:
        raise ValidationError({"household": _("该家庭没有在册成员")})
    district = household.region.district_code
    params, windows = params_and_windows([district], period)
    data = check.build_report(
        facts,
        files=extract_files(today),
        period=period,
        as_of=today,
        params=params,
        window=windows.get(int(district)),
        data_dir=data_dir(),
    )
    dibao = data["evaluation"]["verified"]
    with transaction.atomic():
        report = CheckReport.objects.create(
            household=household,
            consent=consent,
            requested_by=officer,
            created_at=timezone.now(),
            as_of=today,
            period=str(period),
            case_number=(case_number or "").strip()[:40],
            data=data,
            declared_income_fen=sum(sum(m.income_fen[k] for k in check.COUNTED_KINDS) for m in facts.members),
            verified_income_fen=sum(
                m["income"][k]["verified_fen"] for m in data["members"] for k in check.COUNTED_KINDS
            ),
            difference_count=len(data["differences"]),
            decision=dibao["decision"],
            amount=dibao["amount"],
        )
        record(
            actor=officer,
            action=AuditAction.CREATE,
            obj=report,
            after={
                "household": household.pk,
                "consent": consent.pk,
                "as_of": today,
                "period": str(period),
                "differences": report.difference_count,
                "decision": report.decision,
            },
        )
        record_read(actor=officer, obj=household, reason=_("经济状况核对"))
    return report


# --- signals -------------------------------------------------------------------------------------


@transaction.atomic
def handle_signal(*, signal: Signal, officer: Any, status: str, note: str = "") -> Signal:
    """处理核对信号: confirmed (the benefits decision follows) or dismissed (with a reason)."""
    _require_actor(officer)
    signal = Signal.objects.select_for_update().select_related("region").get(pk=signal.pk)
    if not region_in_scope(officer, signal.region):
        raise PermissionDenied(_("该信号不在您的管辖范围内"))
    if status not in (SignalStatus.CONFIRMED, SignalStatus.DISMISSED):
        raise ValidationError({"status": _("请选择处理结果")})
    note = (note or "").strip()
    if status == SignalStatus.DISMISSED and not note:
        raise ValidationError({"note": _("排除信号时请说明原因")})
    if signal.status != SignalStatus.OPEN:
        raise Conflict(_("该信号已由他人处理"), path="status")
    signal.status, signal.note = status, note[:200]
    signal.handled_by, signal.handled_at = officer, timezone.now()
    signal.save(update_fields=["status", "note", "handled_by", "handled_at"])
    record(
        actor=officer,
        action=AuditAction.UPDATE,
        obj=signal,
        before={"status": SignalStatus.OPEN},
        after={"status": status, "kind": signal.kind, "household": signal.household_id},
        reason=signal.note,
    )
    return signal


# --- the monthly re-check -------------------------------------------------------------------------


class RecheckBusy(Conflict):
    pass


def request_recheck(*, month: Period, officer: Any = None, enqueue: bool = True) -> RecheckRun:
    """发起月度动态复核: create the month's run (or return it when it exists) and queue the task."""
    _require_role(officer, RECHECK_RUNNERS, _("只有市民政管理员可以发起全市动态复核"))
    with transaction.atomic():
        run, created = RecheckRun.objects.get_or_create(month=str(month), defaults={"requested_by": officer})
        if created:
            record(
                actor=officer, action=AuditAction.ACTION, obj=run, after={"month": str(month), "queued": True}
            )
    if enqueue and run.status in (RunStatus.QUEUED, RunStatus.FAILED):
        from doudi.verification.tasks import run_recheck_task

        result = run_recheck_task.enqueue(str(month))
        RecheckRun.objects.filter(pk=run.pk).update(task_id=str(result.id))
    return run


def _claim(month: Period, officer: Any) -> tuple[RecheckRun, bool]:
    """Take the month's run for this process; (run, False) when it has already finished."""
    now = timezone.now()
    with transaction.atomic():
        run, _created = RecheckRun.objects.select_for_update().get_or_create(
            month=str(month), defaults={"requested_by": officer}
        )
        if run.status == RunStatus.FINISHED:
            return run, False
        if run.status == RunStatus.RUNNING and run.heartbeat_at and now - run.heartbeat_at < STALE_AFTER:
            raise RecheckBusy(_("该月的动态复核正在运行"), path="month")
        run.status, run.stage, run.percent, run.error = RunStatus.RUNNING, "reading", 0, ""
        run.started_at = run.heartbeat_at = now
        run.save(update_fields=["status", "stage", "percent", "error", "started_at", "heartbeat_at"])
    return run, True


def _progress(run: RecheckRun, callback=None):
    def report(stage: str, percent: int) -> None:
        RecheckRun.objects.filter(pk=run.pk).update(stage=stage, percent=percent, heartbeat_at=timezone.now())
        if callback is not None:
            callback(stage, percent)

    return report


def execute_recheck(month: Period, *, officer: Any = None, progress=None) -> RecheckRun:
    """Run the month's re-check to the end (the task and `doudi recheck` call this).

    Idempotent per month: a finished month is returned untouched (nothing added); a failed or killed
    run is redone from the start, its partial rows (if any) replaced in the final transaction."""
    run, claimed = _claim(month, officer)
    if not claimed:
        return run
    report = _progress(run, progress)
    try:
        report("reading", 5)
        clock = time.perf_counter()
        refresh_schedules(on=month.first_day)  # 条例第26条: each household's schedule, by rule
        schedule_seconds = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()
        inputs = recheck.read_inputs(month)
        read_seconds = round(time.perf_counter() - clock, 3)
        clock = time.perf_counter()
        frame = recheck.prepare(inputs)
        del inputs  # the people table is the largest input; the frame keeps what it needs
        pa.default_memory_pool().release_unused()
        prepare_seconds = round(time.perf_counter() - clock, 3)
        files = extract_files(month.last_day)
        params, windows = params_and_windows(None, month)
        report("matching", 20)
        results = recheck.compute(month, frame, files, params, windows, data_dir=data_dir(), progress=report)
        del frame
        report("writing", 90)
        outcomes = _with_run(results.outcomes, run.pk, recheck.OUTCOME_SCHEMA)
        signals = _with_run(results.signals, run.pk, recheck.SIGNAL_SCHEMA)
        clock = time.perf_counter()
        replace_rows(
            deletes=[
                (Signal._meta.db_table, "run_id", run.pk),
                (RecheckOutcome._meta.db_table, "run_id", run.pk),
            ],
            inserts=[(RecheckOutcome._meta.db_table, outcomes), (Signal._meta.db_table, signals)],
        )
        timings = {
            "schedules": schedule_seconds,
            "read": read_seconds,
            "prepare": prepare_seconds,
            **results.timings,
            "write": round(time.perf_counter() - clock, 3),
        }
        with transaction.atomic():
            RecheckRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FINISHED,
                stage="finished",
                percent=100,
                finished_at=timezone.now(),
                heartbeat_at=timezone.now(),
                households=results.households,
                persons=results.persons,
                skipped_no_consent=results.skipped_no_consent,
                signal_count=results.signals.num_rows,
                outcome_count=results.outcomes.num_rows,
                deferred_count=results.deferred,
                windows={str(code): window_json(window) for code, window in windows.items()},
                extracts=[
                    {"source": f.source.value, "extract_date": f.extract_date.isoformat()} for f in files
                ],
                timings=timings,
            )
            completed = complete_due_rechecks(run=run, month=month)
            run.refresh_from_db()
            summary = {
                "month": run.month,
                "status": run.status,
                "households": run.households,
                "scheduled_rechecks_done": completed,
                "signals": run.signal_count,
                "outcomes": run.outcome_count,
                "deferred": run.deferred_count,
            }
            record(actor=officer, action=AuditAction.ACTION, obj=run, after=summary)
        if progress is not None:
            progress("finished", 100)
        return run
    except Exception:
        RecheckRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=traceback.format_exc()[-4000:], heartbeat_at=timezone.now()
        )
        raise


def _with_run(table: pa.Table, run_id: int, schema: pa.Schema) -> pa.Table:
    run_column = pa.array(np.full(table.num_rows, run_id, dtype=np.int64))
    return table.add_column(0, "run_id", run_column).select(schema.names).cast(schema)


# --- 复核周期 (条例第26条) ------------------------------------------------------------------------------

SCHEDULE_RECORDERS = (Role.VILLAGE_WORKER, Role.TOWNSHIP_OFFICER, Role.DISTRICT_OFFICER)


def _computed_kinds(on: date):
    """Enrolled households with their schedule kind by rule on `on`, computed in the database."""
    from django.db.models import Case, CharField, Exists, OuterRef, Q, Value, When

    from doudi.registry.models import PersonCategory
    from doudi.verification import schedule

    in_force = Q(valid_from__lte=on) & (Q(valid_to__isnull=True) | Q(valid_to__gte=on))
    low, high = schedule.WORKING_AGE
    unable = PersonCategory.objects.filter(
        in_force, person=OuterRef("person"), category__in=[*schedule.UNABLE, "tekun"]
    )
    able_jobless = Membership.objects.filter(
        household=OuterRef("pk"),
        left_on__isnull=True,
        person__work="none",
        person__birth_date__lte=_years_before(on, low),  # 18 or over
        person__birth_date__gt=_years_before(on, high),  # not yet 60
    ).filter(~Exists(unable))
    severe = PersonCategory.objects.filter(
        in_force,
        category__in=sorted(schedule.UNABLE),
        person__memberships__household=OuterRef("pk"),
        person__memberships__left_on__isnull=True,
    )
    return Household.objects.filter(dibao_enrolled=True).annotate(
        computed_kind=Case(
            When(Exists(able_jobless) & Q(area_type="urban"), then=Value(schedule.MONTHLY)),
            When(Exists(able_jobless), then=Value(schedule.QUARTERLY)),
            When(Exists(severe), then=Value(schedule.YEARLY)),
            default=Value(schedule.SIX_MONTHLY),
            output_field=CharField(),
        )
    )


def _years_before(on: date, years: int) -> date:
    """The birthday on which someone is `years` old on `on` (a 29 February birthday counts from 1 March)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # on is 29 February
        return date(on.year - years, 2, 28)


REASON_OF_KIND = {
    "monthly": "able_jobless_member",
    "quarterly": "able_jobless_member",
    "yearly": "severe_illness_or_disability",
    "six_monthly": "stable_income",
}


def refresh_schedules(*, on: date) -> dict[str, int]:
    """复核周期: give every recipient household its schedule by rule on `on` (条例第26条).

    A household without one gets it, first due `interval` months after the month of `on`; a household
    whose kind changed keeps its due date unless the new kind is due sooner (counted from the last
    re-check, or from when the old schedule started). Only new and changed households are written."""
    from django.db.models import F, OuterRef, Q, Subquery

    from doudi.verification import schedule
    from doudi.verification.models import RecheckSchedule

    current = RecheckSchedule.objects.filter(household=OuterRef("pk")).values("kind")[:1]
    changed = (
        _computed_kinds(on)
        .annotate(stored_kind=Subquery(current))
        .filter(Q(stored_kind__isnull=True) | ~Q(stored_kind=F("computed_kind")))
        .values_list("pk", "computed_kind", "stored_kind")
    )
    created = updated = 0
    with transaction.atomic():
        rows = list(changed)
        new = [
            RecheckSchedule(
                household_id=pk,
                kind=kind,
                reason=REASON_OF_KIND[kind],
                next_due_on=schedule.next_due(on, kind),
            )
            for pk, kind, stored in rows
            if stored is None
        ]
        RecheckSchedule.objects.bulk_create(new, batch_size=2000)
        created = len(new)
        moved = {pk: kind for pk, kind, stored in rows if stored is not None}
        for row in RecheckSchedule.objects.filter(household_id__in=list(moved)).select_for_update():
            kind = moved[row.household_id]
            base = row.last_checked_on or add_months_back(row.next_due_on, schedule.INTERVAL_MONTHS[row.kind])
            row.next_due_on = min(row.next_due_on, schedule.next_due(base, kind))
            row.kind, row.reason = kind, REASON_OF_KIND[kind]
            row.save(update_fields=["kind", "reason", "next_due_on", "updated_at"])
            updated += 1
    return {"created": created, "changed": updated}


def add_months_back(day: date, months: int) -> date:
    from doudi.policy.periods import add_months

    return add_months(day, -months)


def complete_due_rechecks(*, run: RecheckRun, month: Period) -> int:
    """The monthly run re-checked the households due by the end of `month` that it could check (a valid
    consent on the month's last day): each gets a RecheckDone row and its next due month. Those without
    consent stay due, and become overdue once their month is over."""
    from django.db.models import Exists, OuterRef

    from doudi.verification import schedule
    from doudi.verification.models import RecheckDone, RecheckSchedule

    last = month.last_day
    consent = Consent.objects.filter(consent_valid_on(last), household=OuterRef("household"))
    due = RecheckSchedule.objects.filter(household__dibao_enrolled=True, next_due_on__lte=last).filter(
        Exists(consent)
    )
    rows = list(due.values_list("household_id", "kind", "next_due_on"))
    RecheckDone.objects.bulk_create(
        [RecheckDone(household_id=h, kind=k, due_on=d, checked_on=last, run=run) for h, k, d in rows],
        batch_size=2000,
    )
    for kind in schedule.INTERVAL_MONTHS:
        RecheckSchedule.objects.filter(household_id__in=[h for h, k, _ in rows if k == kind]).update(
            next_due_on=schedule.next_due(last, kind), last_checked_on=last
        )
    return len(rows)


def record_recheck(*, household: Household, officer: Any, checked_on: date, note: str) -> Any:
    """登记复核: a township (or village, district) officer records a re-check done by visit, phone or
    WeChat (条例第26条); the household's next re-check falls due one interval after that month."""
    from doudi.core.fields import clean_field_text, raise_field_errors
    from doudi.verification import schedule
    from doudi.verification.models import RecheckDone, RecheckSchedule

    _require_role(officer, SCHEDULE_RECORDERS, _("只有村社区、乡镇街道或区县经办人可以登记复核"))
    if not region_in_scope(officer, household.region):
        raise PermissionDenied(_("该家庭不在您的管辖范围内"))
    errors: dict[str, str] = {}
    note = clean_field_text(errors, "note", note, required=True, max_length=200)
    if checked_on > timezone.localdate():
        errors["checked_on"] = _("复核日期不能晚于今天")
    raise_field_errors(errors)
    with transaction.atomic():
        row = RecheckSchedule.objects.select_for_update().filter(household=household).first()
        if row is None or not household.dibao_enrolled:
            raise ValidationError({"household": [_("该家庭没有复核周期（不在保）")]})
        if row.last_checked_on and checked_on < row.last_checked_on:
            raise ValidationError({"checked_on": [_("复核日期早于上次复核")]})
        if row.last_checked_on == checked_on:  # the same re-check sent twice: recorded once
            same = (
                RecheckDone.objects.filter(household=household, checked_on=checked_on).order_by("-pk").first()
            )
            if same is not None:
                return same
        done = RecheckDone.objects.create(
            household=household,
            kind=row.kind,
            due_on=row.next_due_on,
            checked_on=checked_on,
            officer=officer,
            note=note,
        )
        row.last_checked_on = checked_on
        row.next_due_on = schedule.next_due(checked_on, row.kind)
        row.save(update_fields=["last_checked_on", "next_due_on", "updated_at"])
        record(
            actor=officer,
            action=AuditAction.ACTION,
            obj=done,
            after={
                "household": household.pk,
                "checked_on": checked_on.isoformat(),
                "next_due_on": row.next_due_on.isoformat(),
            },
        )
    return done
