"""比对: match household members to department records by ID number and derive the verified figures.

One implementation serves the check of one household and the re-check of a million: members are a
DuckDB relation (`members`: pidx, hidx, id_number, name), every stored extract is projected onto
the same *fact* columns, joined on the ID number (the name is compared, not matched), and the
figures are aggregated per person and per household. The rule for a verified figure is the same
everywhere (`verified`): **the department's figure where a department reports one, else what the
household declared** — a department that knows nothing of a person does not make their declared
income disappear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np

from doudi.verification.sources import (
    COUNTED_HOUSE_USES,
    SCHEMAS,
    UNCOUNTED_VEHICLE_TYPES,
    History,
    Source,
)

# Each source projected onto the common fact columns: amount (fen), ref (what the row is about),
# flag (its category), day and day2 (its dates).
FACT_COLUMNS: dict[Source, dict[str, str]] = {
    Source.SOCIAL_INSURANCE: {"amount": "monthly_wage_fen", "ref": "employer", "day": "insured_since"},
    Source.TAX: {"amount": "monthly_income_fen", "ref": "payer", "flag": "income_kind"},
    Source.REAL_ESTATE: {"ref": "certificate_no", "flag": "use", "day": "registered_on"},
    Source.VEHICLES: {"ref": "plate_no", "flag": "vehicle_type", "day": "registered_on"},
    Source.BUSINESS: {"ref": "credit_code", "flag": "status", "day": "registered_on"},
    Source.PROVIDENT_FUND: {"amount": "monthly_deposit_fen", "ref": "employer"},
    Source.BANK_DEPOSITS: {"amount": "balance_fen", "ref": "bank || ' ' || account_no", "day": "as_of"},
    Source.DEATHS: {"ref": "authority", "day": "died_on"},
    Source.HOSPITALISATION: {
        "amount": "out_of_pocket_fen",
        "ref": "hospital",
        "day": "admitted_on",
        "day2": "discharged_on",
    },
}
_FACT_TYPES = {"amount": "BIGINT", "ref": "VARCHAR", "flag": "VARCHAR", "day": "DATE", "day2": "DATE"}

# The sources the monthly re-check reads (the provident fund is shown in reports only: its deposits
# follow the wage already counted from 人社).
RECHECK_SOURCES = tuple(s for s in Source if s != Source.PROVIDENT_FUND)

# Below these differences a figure is not worth an officer's visit (per household and month).
INCOME_TOLERANCE_FEN = 5_000
DEPOSIT_TOLERANCE_FEN = 100_000


@dataclass(frozen=True)
class ExtractFile:
    source: Source
    extract_date: date
    path: Path


def files_to_read(loaded: dict[Source, list[ExtractFile]]) -> list[ExtractFile]:
    """From each source's loaded extracts (any order): the latest for a snapshot source, all of
    them for an event source."""
    chosen: list[ExtractFile] = []
    for source, files in loaded.items():
        ordered = sorted(files, key=lambda f: f.extract_date)
        if ordered:
            chosen += ordered if SCHEMAS[source].history == History.EVENTS else ordered[-1:]
    return chosen


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def facts_sql(files: list[ExtractFile], sources: tuple[Source, ...] = tuple(Source)) -> str:
    """UNION ALL of every file projected onto (src, extract_date, _row, id_number, name, fact columns)."""
    parts = []
    for f in files:
        if f.source not in sources:
            continue
        mapping = FACT_COLUMNS[f.source]
        cols = ", ".join(f"CAST({mapping.get(c, 'NULL')} AS {t}) AS {c}" for c, t in _FACT_TYPES.items())
        parts.append(
            f"SELECT {_q(f.source.value)} AS src, DATE {_q(f.extract_date.isoformat())} AS extract_date, "
            f"_row, id_number, name, {cols} FROM read_parquet({_q(str(f.path))})"
        )
    if not parts:
        cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in _FACT_TYPES.items())
        return (
            "SELECT CAST(NULL AS VARCHAR) AS src, CAST(NULL AS DATE) AS extract_date, CAST(NULL AS BIGINT) "
            f"AS _row, CAST(NULL AS VARCHAR) AS id_number, CAST(NULL AS VARCHAR) AS name, {cols} WHERE false"
        )
    return "\nUNION ALL\n".join(parts)


def match(con: duckdb.DuckDBPyConnection, files: list[ExtractFile], sources: tuple[Source, ...]) -> None:
    """Create table `matched`: every department row whose ID number is a member's, with the member's
    pidx/hidx and whether the names differ. Needs a relation `members(pidx, hidx, id_number, name)`."""
    con.execute(
        "CREATE OR REPLACE TABLE matched AS "
        "SELECT m.pidx, m.hidx, f.src, f.extract_date, f._row, f.amount, f.ref, f.flag, f.day, f.day2, "
        "f.name AS found_name, f.name IS DISTINCT FROM m.name AS name_differs "
        f"FROM ({facts_sql(files, sources)}) f JOIN members m ON f.id_number = m.id_number"
    )


@dataclass
class Figures:
    """What the departments report, per person (length P) and per household (length H).

    `has_*` says whether a department reports the figure at all (then it replaces the declared one)."""

    wage: np.ndarray
    has_wage: np.ndarray
    business: np.ndarray
    has_business: np.ndarray
    property: np.ndarray
    has_property: np.ndarray
    active_businesses: np.ndarray
    died_on: np.ndarray  # datetime64[D], NaT when no death record
    hospital_from: np.ndarray  # latest admission overlapping the look-back, NaT when none
    name_differs: np.ndarray
    vehicles: np.ndarray  # per household, counted vehicles (disability vehicles are not)
    has_vehicles: np.ndarray
    houses: np.ndarray  # per household, distinct residential properties
    has_houses: np.ndarray
    deposits: np.ndarray
    has_deposits: np.ndarray


def figures(
    con: duckdb.DuckDBPyConnection, persons: int, households: int, *, lookback_from: date, until: date
) -> Figures:
    """Aggregate `matched` into per-person and per-household figures (events dated after `until`
    are not yet known on that day and are ignored)."""
    vehicle_ok = ", ".join(_q(v) for v in UNCOUNTED_VEHICLE_TYPES)
    house_ok = ", ".join(_q(u) for u in COUNTED_HOUSE_USES)
    u, lb = _q(until.isoformat()), _q(lookback_from.isoformat())
    person = con.execute(
        f"""
        SELECT pidx,
          coalesce(sum(amount) FILTER (WHERE src = 'social_insurance'), 0),
          count(*) FILTER (WHERE src = 'social_insurance') > 0,
          coalesce(sum(amount) FILTER (WHERE src = 'tax' AND flag = 'business'), 0),
          count(*) FILTER (WHERE src = 'tax' AND flag = 'business') > 0,
          coalesce(sum(amount) FILTER (WHERE src = 'tax' AND flag = 'property'), 0),
          count(*) FILTER (WHERE src = 'tax' AND flag = 'property') > 0,
          count(*) FILTER (WHERE src = 'business' AND flag = 'active'),
          min(day) FILTER (WHERE src = 'deaths' AND day <= DATE {u}),
          max(day) FILTER (WHERE src = 'hospitalisation' AND day <= DATE {u}
                           AND (day2 IS NULL OR day2 >= DATE {lb})),
          bool_or(name_differs)
        FROM matched GROUP BY pidx
        """
    ).fetchnumpy()
    household = con.execute(
        f"""
        SELECT hidx,
          count(*) FILTER (WHERE src = 'vehicles' AND flag NOT IN ({vehicle_ok})),
          count(*) FILTER (WHERE src = 'vehicles') > 0,
          count(DISTINCT ref) FILTER (WHERE src = 'real_estate' AND flag IN ({house_ok})),
          count(*) FILTER (WHERE src = 'real_estate') > 0,
          coalesce(sum(amount) FILTER (WHERE src = 'bank_deposits'), 0),
          count(*) FILTER (WHERE src = 'bank_deposits') > 0
        FROM matched GROUP BY hidx
        """
    ).fetchnumpy()
    p_cols, h_cols = list(person.values()), list(household.values())

    def scatter(n: int, index: np.ndarray, values: np.ndarray, dtype) -> np.ndarray:
        out = (
            np.full(n, np.datetime64("NaT"), dtype=dtype) if dtype == "datetime64[D]" else np.zeros(n, dtype)
        )
        if len(index):
            if dtype == "datetime64[D]":
                values = np.asarray(values, dtype="datetime64[D]")
            elif np.ma.isMaskedArray(values):
                values = values.filled(False if dtype == np.bool_ else 0)
            out[np.asarray(index, dtype=np.int64)] = values
        return out

    p_idx, h_idx = p_cols[0], h_cols[0]
    p_types = [np.int64, np.bool_, np.int64, np.bool_, np.int64, np.bool_, np.int64]
    p_types += ["datetime64[D]", "datetime64[D]", np.bool_]
    p = [scatter(persons, p_idx, _unmask(v, t), t) for v, t in zip(p_cols[1:], p_types, strict=True)]
    h_types = [np.int64, np.bool_, np.int64, np.bool_, np.int64, np.bool_]
    h = [scatter(households, h_idx, _unmask(v, t), t) for v, t in zip(h_cols[1:], h_types, strict=True)]
    return Figures(*p, *h)


def _unmask(values, dtype):
    """DuckDB returns NULLs as masked arrays; dates as datetime64 with NaT where NULL."""
    if dtype == "datetime64[D]":
        if np.ma.isMaskedArray(values):
            out = values.data.astype("datetime64[D]")
            out[values.mask] = np.datetime64("NaT")
            return out
        return np.asarray(values).astype("datetime64[D]")
    if np.ma.isMaskedArray(values):
        return values.filled(False if dtype == np.bool_ else 0)
    return values


@dataclass
class Verified:
    """The figures the policy evaluation uses: per person incomes and per household assets, in fen."""

    wage: np.ndarray
    business: np.ndarray
    property: np.ndarray
    vehicles: np.ndarray
    houses: np.ndarray
    deposits: np.ndarray


def verified(declared: dict[str, np.ndarray], f: Figures) -> Verified:
    """The department's figure where one reports it, else the declared one (see the module docstring)."""
    return Verified(
        wage=np.where(f.has_wage, f.wage, declared["income_wage_fen"]),
        business=np.where(f.has_business, f.business, declared["income_business_fen"]),
        property=np.where(f.has_property, f.property, declared["income_property_fen"]),
        vehicles=np.where(f.has_vehicles, f.vehicles, declared["vehicles"]),
        houses=np.where(f.has_houses, f.houses, declared["houses"]),
        deposits=np.where(f.has_deposits, f.deposits, declared["deposits_fen"]),
    )
