"""Random §4 households (seeded) and their Parquet form, for the property and batch tests."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from doudi.policy.population import CATEGORY_NAMES, COUNTED_INCOME

DISTRICTS = ("500101", "500102", "500230")
INCOMES = (*COUNTED_INCOME, "exempt")


def _day(rng: random.Random, start: date, days: int) -> date:
    return start + timedelta(days=rng.randrange(days))


def random_member(rng: random.Random, member_id: int) -> dict[str, Any]:
    member: dict[str, Any] = {"id": member_id}
    child = rng.random() < 0.15
    birth = _day(rng, date(2000, 1, 1), 7000) if child else _day(rng, date(1935, 1, 1), 25000)
    if rng.random() < 0.9 or child:
        member["birth_date"] = birth.isoformat()
    income = {
        name: rng.choice([0, rng.randrange(0, 3000), round(rng.uniform(0, 2000), 2)])
        for name in INCOMES
        if rng.random() < 0.3
    }
    if income:
        member["income"] = income
    if rng.random() < 0.5:
        member["work"] = rng.choice(["none", "local", "migrant", "returned"])
    categories = [c for c in CATEGORY_NAMES if rng.random() < (0.25 if child and c != "tekun" else 0.06)]
    if not child:
        categories = [c for c in categories if c not in ("orphan", "de_facto_unsupported_child")]
    if categories:
        member["categories"] = categories
    if "orphan" in categories and rng.random() < 0.5:
        member["orphan_care"] = rng.choice(["institutional", "scattered"])
    if rng.random() < 0.15:
        confirmed = _day(rng, date(2020, 1, 10), 170)
        covid: dict[str, Any] = {"confirmed_on": confirmed.isoformat()}
        if rng.random() < 0.6:
            covid["discharged_on"] = (confirmed + timedelta(days=rng.randrange(0, 80))).isoformat()
        if rng.random() < 0.15:
            covid["died_on"] = (confirmed + timedelta(days=rng.randrange(0, 60))).isoformat()
        member["covid"] = covid
    return member


def random_household(rng: random.Random, household_id: int, first_member_id: int) -> dict[str, Any]:
    household: dict[str, Any] = {
        "id": household_id,
        "region": rng.choice(DISTRICTS),
        "area_type": rng.choice(["urban", "rural"]),
        "members": [
            random_member(rng, first_member_id + i) for i in range(rng.choice([1, 1, 2, 2, 3, 4, 6]))
        ],
    }
    if rng.random() < 0.4:
        household["dibao"] = {"enrolled": True, "last_amount": rng.randrange(0, 2500)}
    if rng.random() < 0.5:
        household["assets"] = {
            "deposits": rng.choice([0, rng.randrange(0, 40000)]),
            "vehicles": rng.choice([0, 0, 0, 1]),
            "houses": rng.choice([0, 1, 1, 2]),
        }
    _regulation_facts(random.Random(f"art-{household_id}-{first_member_id}"), household)
    return household


def _regulation_facts(rng: random.Random, household: dict[str, Any]) -> None:
    """条例第11–13条 facts on some households, from an RNG of their own (the rest stays as it was)."""
    if rng.random() < 0.2:
        assets = household.setdefault("assets", {})
        for name in ("securities", "claims"):
            if rng.random() < 0.5:
                assets[name] = rng.choice([0, rng.randrange(0, 20000), round(rng.uniform(0, 5000), 2)])
        for name in ("boats", "disability_vehicles"):
            if rng.random() < 0.3:
                assets[name] = rng.choice([0, 1, 2])
    if rng.random() < 0.15:
        household["farming"] = {
            name: rng.choice([0, rng.randrange(0, 30000), round(rng.uniform(0, 9000), 2)])
            for name in ("cash_income", "in_kind_income", "direct_costs")
            if rng.random() < 0.8
        }
    if rng.random() < 0.2:
        household["application_date"] = _day(rng, date(2019, 6, 1), 270).isoformat()
    for member in household["members"]:
        if rng.random() > 0.12:
            continue
        status = rng.choice(["present", "serving_conscript", "clergy", "prisoner"])
        membership: dict[str, Any] = {"status": status}
        if status == "serving_conscript":
            membership["married"] = rng.random() < 0.4
        if status == "clergy":
            membership["living_apart_since"] = _day(rng, date(2017, 1, 1), 1400).isoformat()
        adult = member.get("birth_date", "2999") < "1999-01-01"
        if adult and rng.random() < 0.4:
            membership["separate_household"] = rng.choice(["severe_disability", "bedridden_illness"])
        member["membership"] = membership


def random_households(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    households, next_member = [], 1
    for household_id in range(1, count + 1):
        household = random_household(rng, household_id, next_member)
        next_member += len(household["members"])
        households.append(household)
    return households


def write_parquet(households: list[dict[str, Any]], directory: Path) -> None:
    """The synthetic-population Parquet files (households may be written in any order)."""

    def fen(amount: Any) -> int:
        return round(amount * 100)

    def day(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    pq.write_table(
        pa.table(
            {
                "household_id": pa.array([h["id"] for h in households], pa.int64()),
                "region": [h["region"] + "001001" for h in households],
                "district": [h["region"] for h in households],
                "area_type": [h["area_type"] for h in households],
                "dibao_enrolled": [h.get("dibao", {}).get("enrolled", False) for h in households],
                "dibao_last_amount": pa.array(
                    [h.get("dibao", {}).get("last_amount") for h in households], pa.int64()
                ),
                "deposits_fen": pa.array(
                    [fen(h.get("assets", {}).get("deposits", 0)) for h in households], pa.int64()
                ),
                "vehicles": pa.array(
                    [h.get("assets", {}).get("vehicles", 0) for h in households], pa.int16()
                ),
                "houses": pa.array([h.get("assets", {}).get("houses", 0) for h in households], pa.int16()),
                **{
                    f"{name}_fen": pa.array(
                        [fen(h.get("assets", {}).get(name, 0)) for h in households], pa.int64()
                    )
                    for name in ("securities", "claims")
                },
                **{
                    name: pa.array([h.get("assets", {}).get(name, 0) for h in households], pa.int16())
                    for name in ("boats", "disability_vehicles")
                },
                "application_date": pa.array(
                    [day(h.get("application_date")) for h in households], pa.date32()
                ),
                "farming": ["farming" in h for h in households],
                **{
                    f"farming_{name}_fen": pa.array(
                        [fen((h.get("farming") or {}).get(name, 0)) for h in households], pa.int64()
                    )
                    for name in ("cash_income", "in_kind_income", "direct_costs")
                },
            }
        ),
        directory / "households.parquet",
    )
    rows = sorted(((h["id"], m) for h in households for m in h["members"]), key=lambda row: row[0])
    columns: dict[str, Any] = {
        "person_id": pa.array([m["id"] for _, m in rows], pa.int64()),
        "household_id": pa.array([h for h, _ in rows], pa.int64()),
        "id_number": [f"50010119800101{m['id']:04d}" for _, m in rows],
        "name": [f"person {m['id']}" for _, m in rows],
        "sex": ["F" if m["id"] % 2 else "M" for _, m in rows],
        "birth_date": pa.array([day(m.get("birth_date")) for _, m in rows], pa.date32()),
        "relation": ["member" for _ in rows],
        "work": [m.get("work", "none") for _, m in rows],
        "orphan_care": [m.get("orphan_care") for _, m in rows],
    }
    for name in INCOMES:
        columns[f"income_{name}_fen"] = pa.array(
            [fen(m.get("income", {}).get(name, 0)) for _, m in rows], pa.int64()
        )
    for name in CATEGORY_NAMES:
        columns[f"cat_{name}"] = [name in m.get("categories", []) for _, m in rows]
    for name in ("confirmed_on", "discharged_on", "died_on"):
        columns[f"covid_{name}"] = pa.array([day(m.get("covid", {}).get(name)) for _, m in rows], pa.date32())
    membership = [m.get("membership", {}) for _, m in rows]
    columns["membership_status"] = [ms.get("status", "present") for ms in membership]
    columns["married"] = [ms.get("married") for ms in membership]
    columns["living_apart_since"] = pa.array(
        [day(ms.get("living_apart_since")) for ms in membership], pa.date32()
    )
    columns["separate_household"] = [ms.get("separate_household") for ms in membership]
    pq.write_table(pa.table(columns), directory / "persons.parquet")
