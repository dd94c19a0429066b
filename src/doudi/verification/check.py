"""核对报告: the verification report of one household, every figure with the extract rows it comes from.

The figures come from matching.py (the same aggregation the monthly re-check uses); this module adds
what a report needs on top: the rows themselves (source, extract date, row number and values), the
differences from what the household declared, and the dibao evaluation (POLICY R1 through the §4
contract) with declared and with verified figures side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from doudi.policy.contract import evaluate_request
from doudi.policy.money import yuan_json
from doudi.policy.parameters import ParameterSet
from doudi.policy.periods import Period
from doudi.policy.population import CATEGORY_NAMES, COUNTED_INCOME
from doudi.verification.evaluation import Interval, window_json, window_overrides
from doudi.verification.extracts import connect
from doudi.verification.matching import ExtractFile, figures, id_keys, match, verified
from doudi.verification.sources import (
    COUNTED_HOUSE_USES,
    SCHEMAS,
    UNCOUNTED_VEHICLE_TYPES,
    ColumnType,
    Source,
)

INCOME_KINDS = (*COUNTED_INCOME, "exempt")
COUNTED_KINDS = COUNTED_INCOME
POLICY_CATEGORIES = CATEGORY_NAMES
# Which source reports each income kind (the others are declared only).
INCOME_SOURCES = {"wage": (Source.SOCIAL_INSURANCE,), "business": (Source.TAX,), "property": (Source.TAX,)}


@dataclass(frozen=True)
class Member:
    person_id: int
    id_number: str
    name: str
    birth_date: date
    income_fen: dict[str, int]  # declared, by kind
    work: str
    categories: tuple[str, ...]
    orphan_care: str | None
    covid: dict[str, date | None]


@dataclass(frozen=True)
class HouseholdFacts:
    household_id: int
    region: str
    area_type: str
    enrolled: bool
    last_amount: int | None  # yuan
    deposits_fen: int
    vehicles: int
    houses: int
    members: tuple[Member, ...]
    # 条例第13条: the asset items no extract verifies yet, as declared (fen for money; counts)
    other_assets: dict[str, int] = field(default_factory=dict)


def _prov(source: str, extract_date: Any, row: int) -> dict[str, Any]:
    return {"source": str(source), "extract_date": str(extract_date), "row": int(row)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rows_of(con, files: list[ExtractFile], id_numbers: list[str]) -> list[dict[str, Any]]:
    """Every stored row of the members' ID numbers, with its provenance, in source/date/row order."""
    found: list[dict[str, Any]] = []
    ids = pa.table({"id_number": pa.array(id_numbers, pa.string())})
    con.register("wanted", ids)
    for f in files:
        table = con.sql(
            "SELECT * FROM read_parquet($path) WHERE id_number IN (SELECT id_number FROM wanted) ORDER BY _row",
            params={"path": str(f.path)},
        ).to_arrow_table()
        for record in table.to_pylist():
            row = record.pop("_row")
            found.append(
                {
                    **_prov(f.source.value, f.extract_date.isoformat(), row),
                    "id_number": record["id_number"],
                    "values": {
                        k: _jsonable(v) for k, v in record.items() if k not in ("id_number", "id_key")
                    },
                }
            )
    con.unregister("wanted")
    return found


def policy_household(
    facts: HouseholdFacts,
    *,
    income: dict[int, dict[str, int]] | None = None,
    assets: dict[str, int] | None = None,
    alive: set[int] | None = None,
    label: str = "",
    member_prefix: str = "",
) -> dict[str, Any]:
    """The household as POLICY.md §4 input (yuan), with incomes/assets replaced where given and only
    the `alive` members (default: all)."""
    assets = assets or {"deposits": facts.deposits_fen, "vehicles": facts.vehicles, "houses": facts.houses}
    members = []
    for m in facts.members:
        if alive is not None and m.person_id not in alive:
            continue
        amounts = (income or {}).get(m.person_id, m.income_fen)
        members.append(
            {
                "id": f"{member_prefix}{m.person_id}",
                "birth_date": m.birth_date.isoformat() if m.birth_date else None,
                "income": {k: yuan_json(amounts[k]) for k in INCOME_KINDS},
                "work": m.work,
                "categories": list(m.categories),
                "orphan_care": m.orphan_care,
                "covid": {k: v.isoformat() if v else None for k, v in m.covid.items()},
            }
        )
    return {
        "id": label or str(facts.household_id),
        "region": facts.region,
        "area_type": facts.area_type,
        "dibao": {"enrolled": facts.enrolled, "last_amount": facts.last_amount if facts.enrolled else None},
        "assets": {
            "deposits": yuan_json(assets["deposits"]),
            "vehicles": int(assets["vehicles"]),
            "houses": int(assets["houses"]),
            **{
                name: yuan_json(value) if name in ("securities", "claims") else int(value)
                for name, value in facts.other_assets.items()
            },
        },
        "members": members,
    }


def build_report(
    facts: HouseholdFacts,
    *,
    files: list[ExtractFile],
    period: Period,
    as_of: date,
    params: ParameterSet,
    window: Interval | None,
    data_dir: Path,
) -> dict[str, Any]:
    """The report as JSON-able data (stored in CheckReport.data and rendered by the report page)."""
    members = facts.members
    fig, rows = _match(members, files, period, as_of, data_dir)
    declared = {
        f"income_{k}_fen": np.array([m.income_fen[k] for m in members], np.int64) for k in INCOME_KINDS
    }
    declared |= {
        "deposits_fen": np.array([facts.deposits_fen]),
        "vehicles": np.array([facts.vehicles]),
        "houses": np.array([facts.houses]),
    }
    v = verified(declared, fig)
    differences: list[dict[str, Any]] = []
    member_reports = [_member_report(i, m, fig, v, rows, differences) for i, m in enumerate(members)]
    assets = _assets(facts, fig, v, rows, differences)
    alive = set()
    for i, m in enumerate(members):
        if np.isnat(fig.died_on[i]):
            alive.add(m.person_id)
            continue
        died_on = fig.died_on[i].astype(date)
        cited = [
            _cite(r) for r in rows if r["source"] == Source.DEATHS.value and r["id_number"] == m.id_number
        ]
        differences.append(
            {"item": "death", "member": m.person_id, "died_on": died_on.isoformat(), "rows": cited}
        )
        if died_on >= period.first_day:  # paid for the month of death, left out from the next
            alive.add(m.person_id)

    verified_payload = policy_household(
        facts,
        income={
            r["person_id"]: {k: r["income"][k]["verified_fen"] for k in INCOME_KINDS} for r in member_reports
        },
        assets={
            "deposits": assets["deposits_fen"]["verified"],
            "vehicles": assets["vehicles"]["verified"],
            "houses": assets["houses"]["verified"],
        },
        alive=alive,
        label="verified",
    )
    request = {
        "period": str(period),
        "parameters": window_overrides(window),
        "households": [
            policy_household(facts, label="declared", member_prefix="declared-"),
            verified_payload,
        ],
    }
    result = evaluate_request(request, base_params=params)
    declared_result, verified_result = result["households"]
    return {
        "household": {
            "id": facts.household_id,
            "region": facts.region,
            "area_type": facts.area_type,
            "enrolled": facts.enrolled,
            "last_amount": facts.last_amount,
        },
        "as_of": as_of.isoformat(),
        "period": str(period),
        "extracts": [{"source": f.source.value, "extract_date": f.extract_date.isoformat()} for f in files],
        "members": member_reports,
        "records": [r | {"values": _display_values(r)} for r in rows],
        "assets": assets,
        "differences": differences,
        "evaluation": {
            "in_emergency_window": result["in_emergency_window"],
            "window": window_json(window),
            "declared": declared_result["dibao"],
            "verified": verified_result["dibao"],
            "explanation": [s for s in verified_result["explanation"] if s["rule"].startswith("dibao.")],
        },
        "payload": verified_payload | {"id": str(facts.household_id)},
    }


def _match(members, files, period, as_of, data_dir):
    """The department figures of the members (matching.py, as in the re-check) and their rows."""
    con = connect(data_dir, memory_limit="256MB")
    try:
        numbers = pa.array([m.id_number for m in members], pa.string())
        con.register(
            "members",
            pa.table(
                {
                    "pidx": pa.array(range(len(members)), pa.int64()),
                    "hidx": pa.array([0] * len(members), pa.int64()),
                    "id_key": pa.array(id_keys(numbers)),
                    "name": pa.array([m.name for m in members], pa.string()),
                }
            ),
        )
        match(con, files, tuple(Source))
        fig = figures(con, len(members), 1, lookback_from=period.shift(-1).first_day, until=as_of)
        return fig, _rows_of(con, files, [m.id_number for m in members])
    finally:
        con.close()


def _member_report(i: int, m: Member, fig, v, rows, differences: list) -> dict[str, Any]:
    """One member's incomes (declared, found, verified, cited rows) and names as the departments have them."""
    mine = [r for r in rows if r["id_number"] == m.id_number]
    found = {
        "wage": (fig.has_wage[i], fig.wage[i], v.wage[i]),
        "business": (fig.has_business[i], fig.business[i], v.business[i]),
        "property": (fig.has_property[i], fig.property[i], v.property[i]),
    }
    income: dict[str, Any] = {}
    for kind in INCOME_KINDS:
        has, amount, verified_amount = found.get(kind, (False, 0, m.income_fen[kind]))
        cited = [_cite(r) for r in mine if _income_row(r, kind)]
        income[kind] = {
            "declared_fen": m.income_fen[kind],
            "found_fen": int(amount) if has else None,
            "verified_fen": int(verified_amount),
            "rows": cited,
        }
        if has and int(amount) != m.income_fen[kind]:
            differences.append(
                {
                    "item": f"income.{kind}",
                    "member": m.person_id,
                    "name": m.name,
                    "declared_fen": m.income_fen[kind],
                    "found_fen": int(amount),
                    "rows": cited,
                }
            )
    names = [
        _cite(r) | {"found_name": r["values"].get("name")} for r in mine if r["values"].get("name") != m.name
    ]
    for r in names:
        differences.append(
            {
                "item": "name",
                "member": m.person_id,
                "name": m.name,
                "found_name": r["found_name"],
                "rows": [r],
            }
        )
    return {
        "person_id": m.person_id,
        "name": m.name,
        "id_number": m.id_number,
        "matched_sources": sorted({r["source"] for r in mine}),
        "income": income,
        "name_differs": names,
    }


def _assets(facts: HouseholdFacts, fig, v, rows, differences: list) -> dict[str, Any]:
    """Deposits (fen), counted vehicles and residential properties: declared, found, verified, rows."""
    items = {  # keys as the registry's fields: benefits.services.figures_from_report reads them
        "deposits_fen": (
            facts.deposits_fen,
            fig.has_deposits,
            fig.deposits,
            v.deposits,
            Source.BANK_DEPOSITS,
            lambda r: True,
        ),
        "vehicles": (
            facts.vehicles,
            fig.has_vehicles,
            fig.vehicles,
            v.vehicles,
            Source.VEHICLES,
            lambda r: r["values"]["vehicle_type"] not in UNCOUNTED_VEHICLE_TYPES,
        ),
        "houses": (
            facts.houses,
            fig.has_houses,
            fig.houses,
            v.houses,
            Source.REAL_ESTATE,
            lambda r: r["values"]["use"] in COUNTED_HOUSE_USES,
        ),
    }
    assets = {}
    for kind, (declared, has, found, verified_value, source, counted) in items.items():
        cited = [_cite(r) for r in rows if r["source"] == source.value and counted(r)]
        assets[kind] = {
            "declared": int(declared),
            "found": int(found[0]) if has[0] else None,
            "verified": int(verified_value[0]),
            "rows": cited,
        }
        if has[0] and int(found[0]) != int(declared):
            differences.append(
                {"item": f"assets.{kind}", "declared": int(declared), "found": int(found[0]), "rows": cited}
            )
    return assets


def _cite(row: dict[str, Any]) -> dict[str, Any]:
    return {"source": row["source"], "extract_date": row["extract_date"], "row": row["row"]}


def _income_row(row: dict[str, Any], kind: str) -> bool:
    if kind == "wage":
        return row["source"] == Source.SOCIAL_INSURANCE.value
    if kind in ("business", "property"):
        return row["source"] == Source.TAX.value and row["values"].get("income_kind") == kind
    return False


def _display_values(row: dict[str, Any]) -> dict[str, Any]:
    """The row's values in declared column order (amounts stay in fen, as stored)."""
    schema = SCHEMAS[Source(row["source"])]
    return {
        c.stored_name: row["values"].get(c.stored_name) for c in schema.columns if c.type != ColumnType.ID
    }
