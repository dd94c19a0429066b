"""比对: match household members to department records by ID number and derive the verified figures.

One implementation serves the check of one household and the re-check of a million: members are a
DuckDB relation (`members`: pidx, hidx, id_number, name), every stored extract is projected onto
the same numeric *fact* columns and joined on the ID number (the name is compared, not matched),
and the figures are aggregated per person and per household. The rule for a verified figure is the
same everywhere (`verified`): **the department's figure where a department reports one, else what
the household declared** — a department that knows nothing of a person does not make their declared
income disappear.

The joined facts (`matched`) hold numbers only — source and category as small codes, the row's
reference as a 64-bit hash — so that the millions of matched rows of a province-wide re-check stay
small; reports read the rows themselves from the extracts (check.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from doudi.verification.sources import (
    COUNTED_HOUSE_USES,
    SCHEMAS,
    UNCOUNTED_VEHICLE_TYPES,
    ColumnType,
    History,
    Source,
)

SOURCES = tuple(Source)
SOURCE_CODE = {s: i for i, s in enumerate(SOURCES)}
# Each source projected onto the common fact columns: amount (fen), ref (what the row is about),
# flag (its category, a code of the flag column's choices), day and day2 (its dates).
FACT_COLUMNS: dict[Source, dict[str, str]] = {
    Source.SOCIAL_INSURANCE: {"amount": "monthly_wage_fen", "day": "insured_since"},
    Source.TAX: {"amount": "monthly_income_fen", "flag": "income_kind"},
    Source.REAL_ESTATE: {"ref": "certificate_no", "flag": "use", "day": "registered_on"},
    Source.VEHICLES: {"flag": "vehicle_type", "day": "registered_on"},
    Source.BUSINESS: {"flag": "status", "day": "registered_on"},
    Source.PROVIDENT_FUND: {"amount": "monthly_deposit_fen"},
    Source.BANK_DEPOSITS: {"amount": "balance_fen", "day": "as_of"},
    Source.DEATHS: {"day": "died_on"},
    Source.HOSPITALISATION: {"amount": "out_of_pocket_fen", "day": "admitted_on", "day2": "discharged_on"},
    Source.HOUSEHOLD_REGISTRATION: {"flag": "change", "day": "changed_on"},
    Source.INSURANCE: {"amount": "cash_value_fen", "ref": "policy_no", "flag": "product", "day": "as_of"},
    Source.SECURITIES: {"amount": "market_value_fen", "ref": "account_no", "day": "as_of"},
    Source.UNEMPLOYMENT: {"amount": "benefit_fen", "day": "registered_on", "day2": "ended_on"},
}


def flag_code(source: Source, value: str) -> int:
    """The code of a flag value: its position among the flag column's declared choices."""
    column = SCHEMAS[source].column(FACT_COLUMNS[source]["flag"])
    assert column.type == ColumnType.CHOICE
    return [code for code, _ in column.choices].index(value)


# The sources the monthly re-check reads (the provident fund is shown in reports only: its deposits
# follow the wage already counted from 人社; 户籍, insurers, securities and unemployment registration
# are shown in reports and read by the discovery sweep, not counted by R1).
REPORT_ONLY_SOURCES = (
    Source.PROVIDENT_FUND,
    Source.HOUSEHOLD_REGISTRATION,
    Source.INSURANCE,
    Source.SECURITIES,
    Source.UNEMPLOYMENT,
)
RECHECK_SOURCES = tuple(s for s in Source if s not in REPORT_ONLY_SOURCES)

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
    for source in SOURCES:
        ordered = sorted(loaded.get(source, []), key=lambda f: f.extract_date)
        if ordered:
            chosen += ordered if SCHEMAS[source].history == History.EVENTS else ordered[-1:]
    return chosen


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _flag_sql(source: Source) -> str:
    name = FACT_COLUMNS[source].get("flag")
    if name is None:
        return "CAST(NULL AS UTINYINT)"
    whens = " ".join(
        f"WHEN {_q(code)} THEN {i}" for i, (code, _) in enumerate(SCHEMAS[source].column(name).choices)
    )
    return f"CAST(CASE {name} {whens} END AS UTINYINT)"


def facts_sql(files: list[ExtractFile], sources: tuple[Source, ...]) -> str:
    """UNION ALL of every file projected onto (src, file, _row, id_key, name, amount, ref, flag, day,
    day2); `file` is the position in `files` (its source and extract date)."""
    parts = []
    for i, f in enumerate(files):
        if f.source not in sources:
            continue
        m = FACT_COLUMNS[f.source]
        ref = f"hash({m['ref']})" if "ref" in m else "CAST(NULL AS UBIGINT)"
        parts.append(
            f"SELECT CAST({SOURCE_CODE[f.source]} AS UTINYINT) AS src, CAST({i} AS USMALLINT) AS file, "
            f"CAST(_row AS INTEGER) AS _row, id_key, name, "
            f"CAST({m.get('amount', 'NULL')} AS BIGINT) AS amount, {ref} AS ref, {_flag_sql(f.source)} AS flag, "
            f"CAST({m.get('day', 'NULL')} AS DATE) AS day, CAST({m.get('day2', 'NULL')} AS DATE) AS day2 "
            f"FROM read_parquet({_q(str(f.path))})"
        )
    if not parts:
        return (
            "SELECT CAST(NULL AS UTINYINT) AS src, CAST(NULL AS USMALLINT) AS file, CAST(NULL AS INTEGER) AS _row, "
            "CAST(NULL AS BIGINT) AS id_key, CAST(NULL AS VARCHAR) AS name, CAST(NULL AS BIGINT) AS amount, "
            "CAST(NULL AS UBIGINT) AS ref, CAST(NULL AS UTINYINT) AS flag, CAST(NULL AS DATE) AS day, "
            "CAST(NULL AS DATE) AS day2 WHERE false"
        )
    return "\nUNION ALL\n".join(parts)


def match(con: duckdb.DuckDBPyConnection, files: list[ExtractFile], sources: tuple[Source, ...]) -> None:
    """Create table `matched`: every department row whose ID number is a member's, with the member's
    pidx/hidx and whether the names differ. Needs a relation `members(pidx, hidx, id_key, name)`."""
    con.execute(
        "CREATE OR REPLACE TABLE matched AS "
        "SELECT CAST(m.pidx AS INTEGER) AS pidx, CAST(m.hidx AS INTEGER) AS hidx, f.src, f.file, f._row, "
        "f.amount, f.ref, f.flag, f.day, f.day2, f.name IS DISTINCT FROM m.name AS name_differs "
        f"FROM ({facts_sql(files, sources)}) f JOIN members m ON f.id_key = m.id_key"
    )


def id_keys(numbers: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Resident ID numbers as int64 keys: the 17 digits as a number, × 11, + the check value (X = 10).
    The same key is stored with every extract row (extracts._write_store), so members and department
    rows join on one integer instead of 18 characters. A number that is not 18 characters of the
    right kind gets -1, which matches nothing. Vectorised over the Arrow buffers, one character
    position at a time (2.5M numbers in ~0.2 s)."""
    array = numbers.combine_chunks() if isinstance(numbers, pa.ChunkedArray) else numbers
    n = len(array)
    keys = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return keys
    lengths = np.asarray(pc.fill_null(pc.binary_length(array), 0).to_numpy(zero_copy_only=False))
    good = np.flatnonzero(lengths == 18)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset : array.offset + n + 1]
    data = np.frombuffer(array.buffers()[2], dtype=np.uint8) if len(good) else np.zeros(0, np.uint8)
    starts = offsets[:-1][good]
    value = np.zeros(len(good), dtype=np.int64)
    ok = np.ones(len(good), dtype=np.bool_)
    for k in range(17):
        digit = data[starts + k].astype(np.int64) - 48
        ok &= (digit >= 0) & (digit <= 9)
        value *= 10
        value += digit
    check = data[starts + 17]
    last = np.where((check == ord("X")) | (check == ord("x")), 10, check.astype(np.int64) - 48)
    ok &= (last >= 0) & (last <= 10)
    keys[good[ok]] = value[ok] * 11 + last[ok]
    return keys


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


def _sum(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Exact integer sums of `values` (fen) per index. np.bincount accumulates in float64, which is
    exact for integers while every partial sum stays below 2**53 fen (90 trillion yuan); beyond that
    (never, in practice) the slower integer np.add.at is used."""
    if not len(index):
        return np.zeros(n, dtype=np.int64)
    if float(np.abs(values).sum(dtype=np.float64)) < 2.0**53:
        return np.rint(np.bincount(index, weights=values, minlength=n)).astype(np.int64)
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, values.astype(np.int64))
    return out


def _count(index: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(index, minlength=n).astype(np.int64)


def figures(
    con: duckdb.DuckDBPyConnection, persons: int, households: int, *, lookback_from: date, until: date
) -> Figures:
    """Aggregate `matched` per person and per household, in numpy on one source's rows at a time
    (events dated after `until` are not yet known on that day and are ignored; a hospital stay counts
    when it overlaps [lookback_from, until])."""
    S = Source

    def rows(source: Source, columns: str, where: str = "") -> dict[str, np.ndarray]:
        found = con.execute(
            f"SELECT {columns} FROM matched WHERE src = {SOURCE_CODE[source]} {where}"
        ).fetchnumpy()
        return {k: (v.filled(0) if np.ma.isMaskedArray(v) else np.asarray(v)) for k, v in found.items()}

    # One source at a time, each result reduced at once: the fetched rows never all sit in memory.
    wage = rows(S.SOCIAL_INSURANCE, "pidx, coalesce(amount, 0) AS amount")
    wage_sum, has_wage = _sum(wage["pidx"], wage["amount"], persons), _count(wage["pidx"], persons) > 0
    del wage
    tax = rows(S.TAX, "pidx, coalesce(amount, 0) AS amount, flag")
    business = tax["flag"] == flag_code(S.TAX, "business")
    prop = tax["flag"] == flag_code(S.TAX, "property")
    business_sum = _sum(tax["pidx"][business], tax["amount"][business], persons)
    has_business = _count(tax["pidx"][business], persons) > 0
    property_sum = _sum(tax["pidx"][prop], tax["amount"][prop], persons)
    has_property = _count(tax["pidx"][prop], persons) > 0
    del tax, business, prop
    registered = rows(S.BUSINESS, "pidx", f"AND flag = {flag_code(S.BUSINESS, 'active')}")
    deaths = rows(S.DEATHS, "pidx, day", f"AND day <= DATE {_q(until.isoformat())}")
    stays = rows(
        S.HOSPITALISATION,
        "pidx, day",
        f"AND day <= DATE {_q(until.isoformat())} AND (day2 IS NULL OR day2 >= DATE {_q(lookback_from.isoformat())})",
    )
    named = con.execute("SELECT DISTINCT pidx FROM matched WHERE name_differs").fetchnumpy()["pidx"]
    cars = rows(S.VEHICLES, "hidx, flag")
    counted_car = ~np.isin(cars["flag"], [flag_code(S.VEHICLES, v) for v in UNCOUNTED_VEHICLE_TYPES])
    estates = rows(S.REAL_ESTATE, "hidx, ref, flag")
    homes = np.isin(estates["flag"], [flag_code(S.REAL_ESTATE, u) for u in COUNTED_HOUSE_USES])
    banks = rows(S.BANK_DEPOSITS, "hidx, coalesce(amount, 0) AS amount")
    deposits, has_deposits = (
        _sum(banks["hidx"], banks["amount"], households),
        _count(banks["hidx"], households) > 0,
    )
    del banks

    died = np.full(persons, np.datetime64("NaT"), dtype="datetime64[D]")
    if len(deaths["pidx"]):
        first = np.full(persons, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, deaths["pidx"], deaths["day"].astype("datetime64[D]").astype(np.int64))
        known = first != np.iinfo(np.int64).max
        died[known] = first[known].astype("datetime64[D]")
    stay = np.full(persons, np.datetime64("NaT"), dtype="datetime64[D]")
    if len(stays["pidx"]):
        latest = np.full(persons, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(latest, stays["pidx"], stays["day"].astype("datetime64[D]").astype(np.int64))
        known = latest != np.iinfo(np.int64).min
        stay[known] = latest[known].astype("datetime64[D]")
    name_differs = np.zeros(persons, dtype=np.bool_)
    name_differs[np.asarray(named, dtype=np.int64)] = True

    # Distinct residential properties per household: a co-owned house is listed for each owner.
    h, ref = estates["hidx"][homes], estates["ref"][homes]
    order = np.lexsort((ref, h))
    h, ref = h[order], ref[order]
    first_of_pair = np.r_[True, (h[1:] != h[:-1]) | (ref[1:] != ref[:-1])] if len(h) else np.zeros(0, bool)

    return Figures(
        wage=wage_sum,
        has_wage=has_wage,
        business=business_sum,
        has_business=has_business,
        property=property_sum,
        has_property=has_property,
        active_businesses=_count(registered["pidx"], persons),
        died_on=died,
        hospital_from=stay,
        name_differs=name_differs,
        vehicles=_count(cars["hidx"][counted_car], households),
        has_vehicles=_count(cars["hidx"], households) > 0,
        houses=_count(h[first_of_pair], households),
        has_houses=_count(estates["hidx"], households) > 0,
        deposits=deposits,
        has_deposits=has_deposits,
    )


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
