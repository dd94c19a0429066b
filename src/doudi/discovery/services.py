"""主动发现的业务操作: run a sweep and settle its leads; contact, apply on the person's behalf, dismiss.

Every state change of a lead appends a LeadTransition (insert-only) and bumps `version`; a form sends
the version it saw and a stale one is a Conflict (409), as for cases.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import is_acting_staff
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.errors import Conflict
from doudi.core.fields import clean_day, clean_field_text, raise_field_errors, require
from doudi.core.scoping import region_in_scope
from doudi.discovery import sweep
from doudi.discovery.models import (
    LIVE_STATES,
    ContactMethod,
    Lead,
    LeadState,
    LeadTransition,
    SweepRun,
    SweepStatus,
)
from doudi.verification import dataio
from doudi.verification.extracts import connect, extract_path
from doudi.verification.matching import id_keys

DEADLINE_DAYS = 15  # the township contacts a lead within this many days of the sweep that found it
SYSTEM = "系统"
CASE_FOR_KIND = {  # the application a lead turns into, (case type, subtype)
    "registered_poor": ("dibao", ""),
    "income_drop": ("dibao", ""),
    "covid_patient": ("temporary", "urgent"),
    "covid_bereaved": ("temporary", "urgent"),
    "child": ("children", ""),
    "tekun": ("tekun", ""),
    "expenditure": ("temporary", "expenditure"),
}

# --- reading the registry -------------------------------------------------------------------------

HH_SQL = (
    "SELECT id AS household_id, region_id, area_type, CASE WHEN dibao_enrolled THEN 1 ELSE 0 END AS dibao_enrolled, "
    "deposits_fen FROM registry_household"
)
MEM_SQL = "SELECT household_id, person_id, relation FROM registry_membership WHERE left_on IS NULL"
PER_SQL = (
    "SELECT id AS person_id, id_number, birth_date, income_wage_fen, income_business_fen, income_agricultural_fen, "
    "income_property_fen, income_transfer_fen, covid_confirmed_on, covid_died_on FROM registry_person "
    "WHERE merged_into_id IS NULL"
)
ENR_SQL = (
    "SELECT household_id, person_id, scheme FROM benefits_enrolment WHERE status IN ('active', 'suspended')"
)
PAID_SQL = "SELECT DISTINCT scheme, beneficiary_id FROM payments_paymentline WHERE scheme IN ('covid', 'bereavement')"
TERMINAL_CASE_STATES = ("closed", "rejected", "refused", "withdrawn")
I64, STR, DATE = pa.int64(), pa.string(), pa.date32()
SCHEMAS = {
    "hh": pa.schema(
        [
            ("household_id", I64),
            ("region_id", STR),
            ("area_type", STR),
            ("dibao_enrolled", I64),
            ("deposits_fen", I64),
        ]
    ),
    "mem": pa.schema([("household_id", I64), ("person_id", I64), ("relation", STR)]),
    "per": pa.schema(
        [("person_id", I64), ("id_number", STR), ("birth_date", DATE)]
        + [(f"income_{k}_fen", I64) for k in ("wage", "business", "agricultural", "property", "transfer")]
        + [("covid_confirmed_on", DATE), ("covid_died_on", DATE)]
    ),
    "cat": pa.schema([("person_id", I64), ("category", STR), ("valid_from", DATE)]),
    "enr": pa.schema([("household_id", I64), ("person_id", I64), ("scheme", STR)]),
    "cases": pa.schema(
        [
            ("case_id", I64),
            ("household_id", I64),
            ("applicant_id", I64),
            ("case_type", STR),
            ("is_open", I64),
            ("filed_on", DATE),
        ]
    ),
    "paid": pa.schema([("scheme", STR), ("beneficiary_id", I64)]),
    "villages": pa.schema([("code", STR), ("path", STR)]),
    "live": pa.schema(
        [
            ("lead_id", I64),
            ("key", STR),
            ("state", STR),
            ("household_id", I64),
            ("person_id", I64),
            ("version", I64),
            ("fingerprint", STR),
        ]
    ),
    "settled": pa.schema([("key", STR), ("fingerprint", STR)]),
}


def _queries(day: datetime.date) -> dict[str, tuple[str, pa.Schema]]:
    d = day.isoformat()
    filed_on = "CAST(filed_at AS DATE)" if dataio.is_postgres() else "date(filed_at)"
    terminal = ", ".join(f"'{s}'" for s in TERMINAL_CASE_STATES)
    live = ", ".join(f"'{s}'" for s in LIVE_STATES)
    # Read as of one moment (the leads the plan compares with and the registry agree), on two lanes;
    # the largest table first, so one lane reads it while the other takes the rest.
    sql = {
        "per": PER_SQL,
        "mem": MEM_SQL,
        "hh": HH_SQL,
        "cat": "SELECT person_id, category, valid_from FROM registry_personcategory "
        f"WHERE valid_from <= '{d}' AND (valid_to IS NULL OR valid_to >= '{d}')",
        "enr": ENR_SQL,
        "cases": f"SELECT id AS case_id, household_id, applicant_id, case_type, "
        f"CASE WHEN state IN ({terminal}) THEN 0 ELSE 1 END AS is_open, {filed_on} AS filed_on FROM intake_case",
        "paid": PAID_SQL,
        "villages": dataio.VILLAGE_SQL,
        "live": f"SELECT id AS lead_id, key, state, household_id, person_id, version, fingerprint FROM discovery_lead "
        f"WHERE state IN ({live})",
        "settled": f"SELECT DISTINCT key, fingerprint FROM discovery_lead WHERE state NOT IN ({live})",
    }
    return {name: (q, SCHEMAS[name]) for name, q in sql.items()}


def _standards(day: datetime.date) -> sweep.Standards:
    from doudi.parameters.selectors import current_parameters

    params = current_parameters()

    def value(name: str) -> Any:
        found = params.value_at(name, day)
        if found is None:
            raise ValueError(f"parameter {name} has no value on {day}")
        return found.value

    start = params.value_at("emergency.window.start", day)
    return sweep.Standards(
        urban_fen=int(Decimal(str(value("dibao.standard.urban"))) * 100),
        rural_fen=int(Decimal(str(value("dibao.standard.rural"))) * 100),
        deposit_limit_months=int(value("dibao.assets.deposit_limit_months")),
        window_start=start.value if start is not None else datetime.date(2020, 1, 24),
    )


def _extracts(day: datetime.date) -> tuple[sweep.Extracts, list[dict[str, str]]]:
    from doudi.verification.models import Extract, ExtractStatus
    from doudi.verification.services import data_dir

    files: dict[str, list[tuple[datetime.date, Any]]] = {}
    used = []
    for source, extract_date in (
        Extract.objects.filter(status=ExtractStatus.LOADED, extract_date__lte=day)
        .order_by("source", "extract_date")
        .values_list("source", "extract_date")
    ):
        files.setdefault(source, []).append((extract_date, extract_path(data_dir(), source, extract_date)))
        used.append({"source": source, "extract_date": extract_date.isoformat()})
    return sweep.Extracts(files), used


# --- the sweep ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _timed(timings: dict[str, float], phase: str) -> Iterator[None]:
    """The phase's wall clock, and the CPU seconds this process spent in it (all its threads: DuckDB's
    and the readers'), which a busy machine does not inflate as it does the wall clock."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    timings[phase] = time.perf_counter() - wall
    timings[f"{phase}_cpu"] = time.process_time() - cpu


def execute_sweep(day: datetime.date | None = None, *, officer: Any = None) -> SweepRun:
    """发现: sweep the registry and the extracts on `day`; open new leads, refresh the live ones, close
    the ones the data no longer shows (enrolled if the subject now receives something, else cleared)."""
    from doudi.verification.services import data_dir

    day = day or timezone.localdate()
    extracts, used = _extracts(day)
    run = SweepRun.objects.create(
        day=day,
        status=SweepStatus.RUNNING,
        started_at=timezone.now(),
        requested_by=officer if getattr(officer, "pk", None) else None,
        extracts=used,
    )
    timings: dict[str, float] = {}
    try:
        with _timed(timings, "read"):
            tables = dataio.read_consistent(_queries(day))
            per = tables["per"]
            tables["per"] = per.drop(["id_number"]).append_column(
                "id_key", pa.array(id_keys(per.column("id_number")))
            )
        with _timed(timings, "sweep"):
            con = connect(data_dir())
            try:
                leads = sweep.run(con, tables=tables, extracts=extracts, standards=_standards(day), day=day)
                plan = _plan(con, leads, run.pk, day)
            finally:
                con.close()
        with _timed(timings, "write"):
            new, closed = _write(run, plan, officer)
    except Exception as exc:
        SweepRun.objects.filter(pk=run.pk).update(
            status=SweepStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    SweepRun.objects.filter(pk=run.pk).update(
        status=SweepStatus.FINISHED,
        finished_at=timezone.now(),
        found=leads.num_rows,
        new=new,
        closed=closed,
        timings={k: round(v, 3) for k, v in timings.items()},
    )
    run.refresh_from_db()
    return run


def _plan(con, leads: pa.Table, run: int, day: datetime.date) -> dict[str, pa.Table]:
    """What to write, set-based in DuckDB, as the rows the database takes: new leads (not live and not
    settled with the same data; the columns of discovery_lead), live leads found again whose data
    changed or that an open case now answers (refreshed; linked), live leads not found (closed). A live
    lead found again unchanged is not in the plan: it is only marked seen."""
    con.register("leads", leads)
    key = (
        "l.kind || ':' || l.household_id || CASE WHEN l.person_id IS NULL THEN '' ELSE ':' || l.person_id END"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE keyed AS SELECT {key} AS key, l.* FROM leads l")
    village = "SELECT code, split_part(path, '/', 2) AS district, split_part(path, '/', 3) AS township FROM villages"
    new = con.sql(
        f"""SELECT k.key, k.kind,
                  CASE WHEN k.open_case_id IS NULL THEN '{LeadState.FOUND}' ELSE '{LeadState.APPLIED}' END AS state,
                  1::INTEGER AS version, k.household_id, k.person_id, k.region_id, v.township AS township_id,
                  v.district, k.reasons, k.fingerprint, k.estimate_fen, k.threshold_fen,
                  {int(run)}::BIGINT AS found_run_id, {int(run)}::BIGINT AS seen_run_id,
                  $day AS found_on, $due AS due_on, k.open_case_id AS case_id
        FROM keyed k JOIN ({village}) v ON v.code = k.region_id
        WHERE NOT EXISTS (SELECT 1 FROM live x WHERE x.key = k.key)
          AND NOT EXISTS (SELECT 1 FROM settled s WHERE s.key = k.key AND s.fingerprint = k.fingerprint)
        ORDER BY k.key""",
        params={"day": day, "due": day + datetime.timedelta(days=DEADLINE_DAYS)},
    ).to_arrow_table()
    again = con.sql(
        f"""SELECT x.lead_id, x.state, x.version::INTEGER AS version, k.reasons, k.fingerprint, k.estimate_fen,
                  k.threshold_fen, k.open_case_id,
                  k.open_case_id IS NOT NULL AND x.state <> '{LeadState.APPLIED}' AS link
           FROM keyed k JOIN live x USING (key)
           WHERE k.fingerprint IS DISTINCT FROM x.fingerprint OR k.open_case_id IS NOT NULL
           ORDER BY x.lead_id"""
    ).to_arrow_table()
    # Not found any more: enrolled if the subject now receives something, else cleared.
    gone = con.sql(
        """SELECT x.lead_id, x.state, x.version::INTEGER AS version,
                  (x.household_id IN (SELECT household_id FROM hh_dibao)
                   OR x.household_id IN (SELECT household_id FROM temp_recent)
                   OR (x.person_id IS NOT NULL AND x.person_id IN (SELECT person_id FROM enr WHERE person_id IS NOT NULL))
                  ) AS receiving
           FROM live x WHERE NOT EXISTS (SELECT 1 FROM keyed k WHERE k.key = x.key) ORDER BY x.lead_id"""
    ).to_arrow_table()
    return {"new": new, "again": again, "gone": gone}


LIVE_SQL = ", ".join(f"'{s}'" for s in LIVE_STATES)
LEDGER_INSERT = (
    "INSERT INTO discovery_leadtransition (lead_id, seq, action, from_state, to_state, by_id, by_label, at, "
    "reason, data) "
)


def _write(run: SweepRun, plan: dict[str, pa.Table], officer: Any) -> tuple[int, int]:
    """The plan in one transaction, set-based: the new leads appended (binary COPY on PostgreSQL) and
    their first ledger rows made from them in SQL; the changed and the closed leads loaded into
    temporary tables and applied with one UPDATE … FROM each, their ledger rows made the same way; the
    rest of the live leads marked seen. A lead an officer changed after the sweep read it (its version
    moved) is left as the officer left it."""
    new, again, gone = plan["new"], plan["again"], plan["gone"]
    context = pa.table(
        {
            "run_id": pa.array([run.pk], pa.int64()),
            "by_id": pa.array([officer.pk if getattr(officer, "pk", None) else None], pa.int64()),
            "by_label": [str(getattr(officer, "username", "") or SYSTEM)],
            "at": pa.array([timezone.now()], pa.timestamp("us", tz="UTC")),
            "r_linked": [_("已有在办案件，线索关联至该案件")],
            "r_enrolled": [_("已纳入救助")],
            "r_cleared": [_("最新数据已不显示这些情况")],
        }
    )
    with dataio.bulk_writer() as w:
        obj = "jsonb_build_object" if w.postgres else "json_object"
        w.ingest("sweep_context", context, temporary=True)
        w.ingest("discovery_lead", new)
        w.execute(
            LEDGER_INSERT + "SELECT l.id, 1, 'found', '', l.state, c.by_id, c.by_label, c.at, "
            f"CASE WHEN l.case_id IS NULL THEN '' ELSE c.r_linked END, {obj}('run', c.run_id, 'case', l.case_id) "
            "FROM discovery_lead l, sweep_context c WHERE l.found_run_id = c.run_id"
        )
        # Found again with changed data: refreshed; a live lead an open case now answers: linked to it.
        w.ingest("sweep_again", again, temporary=True)
        w.execute(
            LEDGER_INSERT
            + f"SELECT t.lead_id, t.version + 1, 'linked', t.state, '{LeadState.APPLIED}', c.by_id, "
            f"c.by_label, c.at, c.r_linked, {obj}('case', t.open_case_id) "
            "FROM sweep_again t JOIN discovery_lead l ON l.id = t.lead_id AND l.version = t.version, sweep_context c "
            "WHERE t.link"
        )
        w.execute(
            "UPDATE discovery_lead SET reasons = t.reasons, fingerprint = t.fingerprint, "
            "estimate_fen = t.estimate_fen, threshold_fen = t.threshold_fen, "
            f"state = CASE WHEN t.link THEN '{LeadState.APPLIED}' ELSE discovery_lead.state END, "
            "version = CASE WHEN t.link THEN t.version + 1 ELSE t.version END, "
            "case_id = CASE WHEN t.link THEN t.open_case_id ELSE discovery_lead.case_id END "
            "FROM sweep_again t WHERE discovery_lead.id = t.lead_id AND discovery_lead.version = t.version"
        )
        # Not found any more: closed.
        w.ingest("sweep_gone", gone, temporary=True)
        state = f"CASE WHEN t.receiving THEN '{LeadState.ENROLLED}' ELSE '{LeadState.CLEARED}' END"
        w.execute(
            LEDGER_INSERT
            + f"SELECT t.lead_id, t.version + 1, 'closed', t.state, {state}, c.by_id, c.by_label, "
            f"c.at, CASE WHEN t.receiving THEN c.r_enrolled ELSE c.r_cleared END, {obj}() "
            "FROM sweep_gone t JOIN discovery_lead l ON l.id = t.lead_id AND l.version = t.version, sweep_context c"
        )
        closed = w.execute(
            f"UPDATE discovery_lead SET state = {state}, version = t.version + 1, "
            "closed_at = (SELECT at FROM sweep_context) "
            "FROM sweep_gone t WHERE discovery_lead.id = t.lead_id AND discovery_lead.version = t.version"
        )
        # Every other live lead was found again: seen by this run.
        w.execute(
            f"UPDATE discovery_lead SET seen_run_id = {int(run.pk)} "
            f"WHERE state IN ({LIVE_SQL}) AND seen_run_id <> {int(run.pk)}"
        )
    return new.num_rows, closed


# --- outreach -------------------------------------------------------------------------------------


def _require_actor(by: Any, lead: Lead) -> None:
    require(is_acting_staff(by) and region_in_scope(by, lead.region))


def _lock(lead: Lead, expected_version: int | None) -> Lead:
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(_("该线索已被他人处理，请刷新后再试。"))
    return locked


def _transition(
    lead: Lead, *, by: Any, action: str, to: str, reason: str = "", data: dict | None = None
) -> Lead:
    now = timezone.now()
    LeadTransition.objects.create(
        lead=lead,
        seq=lead.version + 1,
        action=action,
        from_state=lead.state,
        to_state=to,
        by=by,
        by_label=by.username,
        at=now,
        reason=reason,
        data=data or {},
    )
    before = lead.state
    lead.state, lead.version = to, lead.version + 1
    fields = ["state", "version"]
    if to in (LeadState.DISMISSED, LeadState.ENROLLED, LeadState.CLEARED):
        lead.closed_at = now
        fields.append("closed_at")
    if action == "contact" and lead.contacted_at is None:
        lead.contacted_at = now
        fields.append("contacted_at")
    lead.save(update_fields=fields)
    record(
        actor=by,
        action=AuditAction.ACTION,
        obj=lead,
        before={"state": before},
        after={"state": to, "action": action, **(data or {})},
        reason=reason,
    )
    return lead


@transaction.atomic
def record_contact(
    *,
    lead: Lead,
    by: Any,
    method: str,
    contacted_on: Any,
    note: str,
    expected_version: int | None = None,
) -> Lead:
    """联系: a phone call, a visit or a WeChat exchange, with what was said (recorded)."""
    _require_actor(by, lead)
    lead = _lock(lead, expected_version)
    if lead.state not in (LeadState.FOUND, LeadState.CONTACTED):
        raise Conflict(_("该线索已结束或已申请，无需再联系。"))
    errors: dict[str, str] = {}
    if method not in ContactMethod.values:
        errors["method"] = _("请选择联系方式。")
    day = clean_day(errors, "contacted_on", contacted_on, today=timezone.localdate())
    note = clean_field_text(errors, "note", note, required=True, max_length=1000)
    raise_field_errors(errors)
    return _transition(
        lead,
        by=by,
        action="contact",
        to=LeadState.CONTACTED,
        reason=note,
        data={"method": method, "contacted_on": day.isoformat()},
    )


@transaction.atomic
def dismiss(*, lead: Lead, by: Any, reason: str, expected_version: int | None = None) -> Lead:
    """排除: the lead is not a case (with the reason). It returns only when the data behind it changes."""
    _require_actor(by, lead)
    lead = _lock(lead, expected_version)
    if lead.state not in (LeadState.FOUND, LeadState.CONTACTED):
        raise Conflict(_("只有待联系或已联系的线索可以排除。"))
    errors: dict[str, str] = {}
    reason = clean_field_text(errors, "reason", reason, required=True, max_length=1000)
    raise_field_errors(errors)
    return _transition(lead, by=by, action="dismiss", to=LeadState.DISMISSED, reason=reason)


@transaction.atomic
def file_application(*, lead: Lead, by: Any, expected_version: int | None = None) -> Lead:
    """代为申请 (条例第5、14条): open the application the lead points to, on the person's behalf, pre-filled
    from the lead (applicant, household, the reasons as its summary). An open case answering the lead
    is linked instead: never a second application."""
    from doudi.intake.models import Case, Channel
    from doudi.intake.services import open_case
    from doudi.registry.models import Person

    from .reasons import summary

    _require_actor(by, lead)
    lead = _lock(lead, expected_version)
    if lead.state not in (LeadState.FOUND, LeadState.CONTACTED):
        raise Conflict(_("该线索已申请或已结束。"))
    case_type, subtype = CASE_FOR_KIND[lead.kind]
    person = lead.person or Person.objects.filter(pk=lead.household.head_id).first()
    existing = (
        Case.objects.filter(household=lead.household, case_type__in=sweep.ANSWERING_CASES[lead.kind])
        .exclude(state__in=TERMINAL_CASE_STATES)
        .order_by("id")
        .first()
    )
    if existing is not None:
        lead.case = existing
        lead.save(update_fields=["case"])
        return _transition(
            lead,
            by=by,
            action="linked",
            to=LeadState.APPLIED,
            reason=_("已有在办案件，线索关联至该案件"),
            data={"case": existing.pk},
        )
    case = open_case(
        by=by,
        case_type=case_type,
        subtype=subtype,
        channel=Channel.WALK_IN,
        region=lead.region,
        summary=summary(lead),
        applicant=person,
        household=lead.household,
        details={"discovery": {"lead": lead.pk, "kind": lead.kind, "reasons": json.loads(lead.reasons)}},
        on_behalf=True,
    )
    lead.case = case
    lead.save(update_fields=["case"])
    return _transition(
        lead,
        by=by,
        action="apply",
        to=LeadState.APPLIED,
        reason=_("已代为提交申请 %(number)s") % {"number": case.tracking_number},
        data={"case": case.pk},
    )
