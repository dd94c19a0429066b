"""The monthly re-check (动态复核): signals, R1 with verified figures, the window rule, idempotency."""

import datetime as dt
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.policy.parameters import load_defaults
from doudi.policy.periods import Period
from doudi.verification import recheck, selectors
from doudi.verification.extracts import validate_and_store
from doudi.verification.matching import ExtractFile
from doudi.verification.models import RecheckOutcome, RecheckRun, RunStatus, Signal
from doudi.verification.services import RecheckBusy, execute_recheck
from doudi.verification.sources import SCHEMAS, Source

from .conftest import id_number

APRIL, JUNE = Period(2020, 4), Period(2020, 6)
WINDOW = (dt.date(2020, 1, 24), dt.date(2020, 5, 31))

recheck_db = pytest.mark.django_db(transaction=True)  # ADBC reads committed rows on PostgreSQL


@pytest.fixture
def window(regions, city_admin):
    """The bureau declares the emergency window 2020-01-24 … 2020-05-31 (April in it, June not)."""
    from doudi.regions.services import declare_window

    return declare_window(by=city_admin, name="一级响应", start=WINDOW[0], end=WINDOW[1], reason="测试")


def signals_of(household, kind=None):
    qs = Signal.objects.filter(household=household)
    return list(qs.filter(kind=kind) if kind else qs)


def outcome_of(run, household):
    return RecheckOutcome.objects.filter(run=run, household=household).first()


# --- deaths and the window ------------------------------------------------------------------------


@recheck_db
def test_a_death_stops_the_payment_only_once_the_window_allows(
    make_household, load, consent, township_a, window
):
    h = make_household([{"name": "独居老人"}], last_amount=546)
    consent(h, township_a)
    person = h.memberships.get().person
    load("deaths", [{"id_number": person.id_number, "name": "独居老人", "died_on": "2020-02-10"}])

    april = execute_recheck(APRIL)
    o = outcome_of(april, h)
    assert (o.decision, o.proposed_amount, o.last_amount, o.change, o.deferred) == (
        "exit_deferred",
        546,
        546,
        "exit",
        True,
    )
    death = signals_of(h, "death")[0]
    assert (death.person_id, death.found_date) == (person.pk, dt.date(2020, 2, 10))
    assert json.loads(death.evidence) == [{"source": "deaths", "extract_date": "2020-03-31", "rows": [1]}]
    run, deferred = selectors.deferred_worklist(township_a)
    assert run == april and [d.household_id for d in deferred] == [h.pk]

    june = execute_recheck(JUNE)
    o = outcome_of(june, h)
    assert (o.decision, o.proposed_amount, o.change, o.deferred) == ("exit", 0, "exit", False)


@recheck_db
def test_a_member_who_died_is_a_reduction_held_in_the_window_and_applied_after(
    make_household, load, consent, township_a, window
):
    # Urban household of two without income: 2 × 546 = 1092; one dies → 546.
    h = make_household([{"name": "甲"}, {"name": "乙"}], last_amount=1092)
    consent(h, township_a)
    second = h.memberships.order_by("pk")[1].person
    load("deaths", [{"id_number": second.id_number, "name": "乙", "died_on": "2020-03-03"}])

    o = outcome_of(execute_recheck(APRIL), h)
    assert (o.decision, o.computed_amount, o.proposed_amount, o.change, o.deferred) == (
        "hold",
        546,
        1092,
        "reduce",
        True,
    )
    o = outcome_of(execute_recheck(JUNE), h)
    assert (o.decision, o.proposed_amount, o.change, o.deferred) == ("continue", 546, "reduce", False)


@recheck_db
def test_an_income_fall_raises_the_payment_in_the_window(make_household, load, consent, township_a, window):
    h = make_household([{"name": "甲", "income_wage_fen": 100_000}], last_amount=0)  # 546 − 1000 < 0
    consent(h, township_a)
    p = h.memberships.get().person
    load(
        "social_insurance",
        [{"id_number": p.id_number, "name": "甲", "employer": "甲公司", "monthly_wage": "300.00"}],
    )
    run = execute_recheck(APRIL)
    o = outcome_of(run, h)
    assert (o.decision, o.proposed_amount, o.change, o.deferred) == ("raise", 246, "raise", False)
    assert (o.declared_income_fen, o.verified_income_fen) == (100_000, 30_000)
    down = signals_of(h, "income_down")[0]
    assert (down.declared_value, down.found_value) == (100_000, 30_000)
    assert json.loads(down.evidence) == [
        {"source": "social_insurance", "extract_date": "2020-03-31", "rows": [1]}
    ]


@recheck_db
def test_every_kind_of_signal_with_the_rows_behind_it(make_household, load, consent, township_a):
    h = make_household([{"name": "张三"}, {"name": "李四"}], last_amount=1092, deposits_fen=0)
    consent(h, township_a)
    a, b = (m.person for m in h.memberships.order_by("pk"))
    outsider = id_number("19700101", place="510104")
    load("social_insurance", [
        {"id_number": outsider, "name": "外人", "employer": "丙", "monthly_wage": "9000"},
        {"id_number": a.id_number, "name": "张三", "employer": "甲公司", "monthly_wage": "2000"},
    ])  # fmt: skip
    load("vehicles", [
        {"id_number": a.id_number, "name": "张三", "plate_no": "渝A1", "vehicle_type": "小型汽车", "registered_on": "2020-01-01"},
        {"id_number": b.id_number, "name": "李四", "plate_no": "渝A2", "vehicle_type": "残疾人专用车", "registered_on": "2020-01-01"},
    ])  # fmt: skip
    load("real_estate", [
        {"id_number": a.id_number, "name": "张三", "certificate_no": "C1", "use": "住宅", "registered_on": "2019-01-01"},
        {"id_number": b.id_number, "name": "李四", "certificate_no": "C1", "use": "住宅", "registered_on": "2019-01-01"},
        {"id_number": b.id_number, "name": "李四", "certificate_no": "C2", "use": "住宅", "registered_on": "2019-01-01"},
    ])  # fmt: skip
    load("business", [{"id_number": b.id_number, "name": "李肆", "credit_code": "92500000MA1", "business_name": "小店",
                       "registered_on": "2019-05-01", "status": "存续"}])  # fmt: skip
    load("bank_deposits", [{"id_number": a.id_number, "name": "张三", "bank": "重庆银行", "account_no": "1",
                            "balance": "50000", "as_of": "2020-03-31"}])  # fmt: skip
    load("hospitalisation", [{"id_number": b.id_number, "name": "李四", "hospital": "市人民医院",
                              "admitted_on": "2020-03-20", "discharged_on": ""}])  # fmt: skip
    execute_recheck(APRIL)
    found = {(s.kind, s.person_id): s for s in signals_of(h)}
    assert set(found) == {
        ("income_up", None), ("new_vehicle", None), ("new_property", None), ("deposits_up", None),
        ("new_business", b.pk), ("hospitalisation", b.pk), ("name_mismatch", b.pk),
    }  # fmt: skip
    assert (found["new_vehicle", None].declared_value, found["new_vehicle", None].found_value) == (0, 1)
    assert found["new_property", None].found_value == 2  # C1 is co-owned: counted once
    assert json.loads(found["income_up", None].evidence) == [
        {"source": "social_insurance", "extract_date": "2020-03-31", "rows": [2]}
    ]
    assert json.loads(found["new_vehicle", None].evidence)[0]["rows"] == [1, 2]
    assert json.loads(found["name_mismatch", b.pk].evidence) == [
        {"source": "business", "extract_date": "2020-03-31", "rows": [1]}
    ]
    assert found["hospitalisation", b.pk].found_date == dt.date(2020, 3, 20)


@recheck_db
def test_a_household_without_consent_is_not_checked_but_listed(make_household, load, consent, township_a):
    checked = make_household([{"name": "甲"}], last_amount=546)
    unchecked = make_household([{"name": "乙", "income_wage_fen": 0}], last_amount=546)
    consent(checked, township_a)
    p = unchecked.memberships.get().person
    load(
        "social_insurance",
        [{"id_number": p.id_number, "name": "乙", "employer": "甲", "monthly_wage": "5000"}],
    )
    run = execute_recheck(APRIL)
    assert (run.households, run.skipped_no_consent) == (1, 1)
    assert outcome_of(run, unchecked) is None
    assert [s.kind for s in signals_of(unchecked)] == ["no_consent"]


# --- running it: idempotency, a killed run, progress, scope ----------------------------------------


@recheck_db
def test_a_finished_month_run_again_adds_nothing(make_household, load, consent, township_a):
    h = make_household([{"name": "甲"}], last_amount=100)
    consent(h, township_a)
    first = execute_recheck(APRIL)
    ids = (
        sorted(Signal.objects.values_list("pk", flat=True)),
        sorted(RecheckOutcome.objects.values_list("pk", flat=True)),
    )
    again = execute_recheck(APRIL)
    assert again.pk == first.pk and again.finished_at == first.finished_at
    assert (
        sorted(Signal.objects.values_list("pk", flat=True)),
        sorted(RecheckOutcome.objects.values_list("pk", flat=True)),
    ) == ids
    assert RecheckRun.objects.count() == 1


@recheck_db
def test_a_killed_run_is_redone_cleanly(make_household, load, consent, township_a, monkeypatch):
    from doudi.verification import services

    h = make_household([{"name": "甲", "income_wage_fen": 10_000}], last_amount=446)
    consent(h, township_a)
    p = h.memberships.get().person
    load(
        "social_insurance", [{"id_number": p.id_number, "name": "甲", "employer": "甲", "monthly_wage": "50"}]
    )
    real_record = services.record

    def dies_after_the_write(**kwargs):  # the worker is killed between the write-back and "finished"
        if isinstance(kwargs.get("obj"), RecheckRun) and kwargs["after"].get("status") == RunStatus.FINISHED:
            raise KeyboardInterrupt
        return real_record(**kwargs)

    monkeypatch.setattr(services, "record", dies_after_the_write)
    with pytest.raises(KeyboardInterrupt):
        execute_recheck(APRIL)
    run = RecheckRun.objects.get(month=str(APRIL))
    assert run.status == RunStatus.RUNNING  # a kill leaves no status; only the heartbeat tells
    assert RecheckOutcome.objects.filter(run=run).count() == 1  # written, not yet marked finished

    with pytest.raises(RecheckBusy):  # a live-looking run is not taken over
        execute_recheck(APRIL)
    RecheckRun.objects.filter(pk=run.pk).update(heartbeat_at=run.heartbeat_at - dt.timedelta(hours=1))
    monkeypatch.setattr(services, "record", real_record)
    run = execute_recheck(APRIL)
    assert run.status == RunStatus.FINISHED
    assert RecheckOutcome.objects.filter(run=run).count() == 1
    assert Signal.objects.filter(run=run, kind="income_down").count() == 1
    o = outcome_of(run, h)
    assert (o.decision, o.proposed_amount) == ("raise", 496)


@recheck_db
def test_a_failed_run_is_recorded_and_can_be_redone(make_household, consent, township_a, monkeypatch):
    h = make_household([{"name": "甲"}], last_amount=100)
    consent(h, township_a)
    monkeypatch.setattr(recheck, "compute", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        execute_recheck(APRIL)
    assert RecheckRun.objects.get().status == RunStatus.FAILED
    monkeypatch.undo()
    assert execute_recheck(APRIL).status == RunStatus.FINISHED


@recheck_db
def test_the_cli_prints_progress_and_the_figures(make_household, consent, township_a):
    h = make_household([{"name": "甲"}], last_amount=100)
    consent(h, township_a)
    out = io.StringIO()
    call_command("recheck", month="2020-04", stdout=out)
    text = out.getvalue()
    assert "100%" in text and "matching" in text
    assert "2020-04: 1 households, 1 persons" in text


@recheck_db
def test_the_queued_task_runs_the_month(make_household, consent, township_a, city_admin, settings):
    from doudi.verification.services import request_recheck

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    h = make_household([{"name": "甲"}], last_amount=100)
    consent(h, township_a)
    run = request_recheck(month=APRIL, officer=city_admin)
    run.refresh_from_db()
    assert (run.status, run.percent, run.households) == (RunStatus.FINISHED, 100, 1)


@recheck_db
def test_each_officer_sees_the_signals_of_their_own_region(
    make_household, load, consent, township_a, township_b, regions
):
    a = make_household([{"name": "甲"}], village=regions.a_v, last_amount=100)
    b = make_household([{"name": "乙"}], village=regions.b_v, last_amount=100)
    for h in (a, b):
        consent(h, township_a if h is a else township_b)
    load(
        "deaths",
        [
            {"id_number": h.memberships.get().person.id_number, "name": "x", "died_on": "2020-03-01"}
            for h in (a, b)
        ],
    )
    execute_recheck(APRIL)
    assert {s.household_id for s in selectors.signal_worklist(township_a)} == {a.pk}
    assert {s.household_id for s in selectors.signal_worklist(township_b)} == {b.pk}


# --- the window rule as a property of compute() -----------------------------------------------------

_member = st.fixed_dictionaries(
    {
        "wage": st.integers(0, 3000),
        "found_wage": st.none() | st.integers(0, 5000),
        "died": st.booleans(),
    }
)
_household = st.fixed_dictionaries(
    {
        "members": st.lists(_member, min_size=1, max_size=3),
        "last": st.integers(1, 1600),
        "car": st.booleans(),
        "urban": st.booleans(),
    }
)


def _world(households, tmp: Path):
    """Arrow inputs and stored extracts for compute(), without a database."""
    h_rows, m_rows, p_rows, wages, deaths, cars = [], [], [], [], [], []
    pid = 0
    for i, h in enumerate(households, start=1):
        h_rows.append({"household_id": i, "region_id": "500101001001", "area_type": "urban" if h["urban"] else "rural",
                       "last_amount": h["last"], "deposits_fen": 0, "vehicles": 0, "houses": 0})  # fmt: skip
        for j, m in enumerate(h["members"]):
            pid += 1
            number = id_number()
            m_rows.append({"household_id": i, "person_id": pid})
            p_rows.append({"person_id": pid, "id_number": number, "name": f"P{pid}", "income_wage_fen": m["wage"] * 100,
                           "income_business_fen": 0, "income_agricultural_fen": 0, "income_property_fen": 0,
                           "income_transfer_fen": 0, "work": "none"})  # fmt: skip
            if m["found_wage"] is not None:
                wages.append(
                    {
                        "id_number": number,
                        "name": f"P{pid}",
                        "employer": "E",
                        "monthly_wage": str(m["found_wage"]),
                    }
                )
            if m["died"]:
                deaths.append({"id_number": number, "name": f"P{pid}", "died_on": "2020-02-01"})
            if h["car"] and j == 0:
                cars.append({"id_number": number, "name": f"P{pid}", "plate_no": f"渝A{i}", "vehicle_type": "car",
                             "registered_on": "2019-01-01"})  # fmt: skip
    files = []
    for source, rows in ((Source.SOCIAL_INSURANCE, wages), (Source.DEATHS, deaths), (Source.VEHICLES, cars)):
        if rows:
            names = [c.name for c in SCHEMAS[source].columns]
            raw = tmp / f"{source}.parquet"
            pq.write_table(pa.table({n: [str(r.get(n, "")) for r in rows] for n in names}), raw)
            stored = tmp / f"{source}.stored.parquet"
            assert validate_and_store(raw, source=source, fmt="parquet", destination=stored, data_dir=tmp).ok
            files.append(ExtractFile(source, dt.date(2020, 3, 31), stored))
    schemas = {"households": recheck.dataio.HOUSEHOLD_SCHEMA, "memberships": recheck.dataio.MEMBERSHIP_SCHEMA,
               "persons": recheck.dataio.PERSON_SCHEMA}  # fmt: skip
    inputs = recheck.Inputs(
        households=pa.Table.from_pylist(h_rows, schema=schemas["households"]),
        memberships=pa.Table.from_pylist(m_rows, schema=schemas["memberships"]),
        persons=pa.Table.from_pylist(p_rows, schema=schemas["persons"]),
        consents=pa.table({"household_id": pa.array([r["household_id"] for r in h_rows], pa.int64())}),
        categories=recheck.dataio.CATEGORY_SCHEMA.empty_table(),
        villages=pa.table({"code": ["500101001001"], "path": ["500000/500101/500101001/500101001001/"]}),
    )
    return inputs, files


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_household, min_size=1, max_size=6))
def test_in_the_window_a_recheck_never_lowers_a_payment_and_lists_what_it_holds_back(households):
    params = load_defaults()
    with tempfile.TemporaryDirectory() as tmp:
        inputs, files = _world(households, Path(tmp))
        frame = recheck.prepare(inputs)
        inside = recheck.compute(APRIL, frame, files, params, {500101: WINDOW}, data_dir=Path(tmp))
        after = recheck.compute(JUNE, frame, files, params, {500101: WINDOW}, data_dir=Path(tmp))
    rows = inside.outcomes.to_pylist()
    assert all(r["proposed_amount"] >= r["last_amount"] for r in rows)
    assert all(r["deferred"] == (r["change"] in ("reduce", "exit")) for r in rows)
    assert not any(r["decision"] == "exit" for r in rows)
    # What the window held back is exactly what happens once it is over (the data being the same).
    held = {r["household_id"]: (r["change"], r["computed_amount"]) for r in rows if r["deferred"]}
    done = {r["household_id"]: (r["change"], r["proposed_amount"]) for r in after.outcomes.to_pylist()
            if r["change"] in ("reduce", "exit")}  # fmt: skip
    assert held == done
    assert not any(r["deferred"] for r in after.outcomes.to_pylist())
    assert inside.deferred == len(held)
    assert np.all(np.array([r["proposed_amount"] for r in rows if r["change"] == "raise"])
                  > np.array([r["last_amount"] for r in rows if r["change"] == "raise"]))  # fmt: skip


@recheck_db
def test_the_cli_says_when_a_month_is_already_done(make_household, consent, township_a):
    consent(make_household([{"name": "甲"}], last_amount=100), township_a)
    call_command("recheck", month="2020-04", stdout=io.StringIO())
    out = io.StringIO()
    call_command("recheck", month="2020-04", stdout=out)
    assert "already re-checked" in out.getvalue() and "nothing added" in out.getvalue()
