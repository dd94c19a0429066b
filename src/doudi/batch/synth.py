"""A payroll snapshot drawn from the synthetic population (doudi.registry.synth), without a database:
for the engine-equality tests and bench/spark_scale.py.

The tables are those payroll.read_database reads (then payroll.freeze writes them as a month's
snapshot): every dibao household of the population enrolled at its last amount, its 特困 members and
orphans enrolled per person, an active account for most payees, last month's lines for most of this
month's (some with another amount, some of households no longer paid), and an emergency window in
every fourth district (closed before the month in the others).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from doudi.payments import oneoffs
from doudi.payments import payroll as rules
from doudi.policy.periods import Period
from doudi.policy.population import CATEGORY_NAMES, COUNTED_INCOME
from doudi.registry.synth import Population


def payroll_tables(population: Population, month: Period, *, seed: int = 14) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    hh, people = population.households, population.persons
    enrolled = np.asarray(hh.column("dibao_enrolled").to_numpy(zero_copy_only=False), dtype=np.bool_)
    h_ids = np.asarray(hh.column("household_id").to_numpy(), dtype=np.int64)
    p_ids = np.asarray(people.column("person_id").to_numpy(), dtype=np.int64)
    p_house = np.asarray(people.column("household_id").to_numpy(), dtype=np.int64)

    def flag(name: str) -> np.ndarray:
        return np.asarray(
            pc.fill_null(people.column(name), False).to_numpy(zero_copy_only=False), dtype=np.bool_
        )

    tekun = flag("cat_tekun")
    child = flag("cat_orphan") | flag("cat_de_facto_unsupported_child")
    dibao_h = np.flatnonzero(enrolled)
    last = np.asarray(pc.fill_null(hh.column("dibao_last_amount"), 0).to_numpy(), dtype=np.int64)
    n_d, n_t, n_c = len(dibao_h), int(tekun.sum()), int(child.sum())
    enrolments = pa.table(
        {
            "enrolment_id": pa.array(np.arange(1, n_d + n_t + n_c + 1, dtype=np.int64)),
            "scheme": pa.array(["dibao"] * n_d + ["tekun"] * n_t + ["children"] * n_c),
            "household_id": pa.array(np.r_[h_ids[dibao_h], p_house[tekun], p_house[child]]),
            "person_id": pa.array(np.r_[np.zeros(n_d, np.int64), p_ids[tekun], p_ids[child]]),
            "amount": pa.array(
                np.r_[last[dibao_h], rng.integers(600, 1200, n_t), rng.integers(900, 1400, n_c)].astype(
                    np.int64
                )
            ),
        }
    )
    in_payroll = np.isin(h_ids, enrolments.column("household_id").to_numpy())
    is_head = np.asarray(pc.equal(people.column("relation"), "head").to_numpy(zero_copy_only=False), bool)
    head_of = dict(zip(p_house[is_head].tolist(), p_ids[is_head].tolist(), strict=True))
    kept = np.flatnonzero(in_payroll)
    households = pa.table(
        {
            "household_id": pa.array(h_ids[kept]),
            "region_id": hh.column("region").take(pa.array(kept)),
            "area_type": hh.column("area_type").take(pa.array(kept)),
            "deposits_fen": hh.column("deposits_fen").take(pa.array(kept)).cast(pa.int64()),
            "vehicles": hh.column("vehicles").take(pa.array(kept)).cast(pa.int64()),
            "houses": hh.column("houses").take(pa.array(kept)).cast(pa.int64()),
            "head_id": pa.array([head_of.get(int(h), 0) for h in h_ids[kept]], pa.int64()),
        }
    )
    members_rows = np.flatnonzero(np.isin(p_house, h_ids[kept]))
    take = pa.array(members_rows)
    members = pa.table(
        {
            name: people.column(name).take(take)
            for name in (
                "household_id",
                "person_id",
                "birth_date",
                "work",
                "orphan_care",
                "covid_confirmed_on",
                "covid_discharged_on",
                "covid_died_on",
                *(f"income_{k}_fen" for k in COUNTED_INCOME),
            )
        }
    )
    cat_person, cat_name = [], []
    for name in CATEGORY_NAMES:
        rows = np.flatnonzero(flag(f"cat_{name}"))
        cat_person.append(p_ids[rows])
        cat_name += [name] * len(rows)
    categories = pa.table(
        {"person_id": pa.array(np.concatenate(cat_person)), "category": pa.array(cat_name, pa.string())}
    )

    # An active account for 97% of the members (the rest: lines held for want of an account).
    m_ids = p_ids[members_rows]
    has = np.sort(m_ids[rng.random(len(m_ids)) < 0.97])
    accounts = pa.table(
        {
            "person_id": pa.array(has),
            "account_id": pa.array(np.arange(1, len(has) + 1, dtype=np.int64)),
            "bank_code": pa.array(np.where(has % 2 == 0, "CQRCB", "CQCB").astype(object), pa.string()),
            "account_number": pc.utf8_lpad(pc.cast(pa.array(has * 7919 % 10**12), pa.string()), 19, "6"),
            "holder_name": pa.array(np.full(len(has), "收款人", dtype=object), pa.string()),
        }
    )

    # Last month: most dibao households and 特困 members paid (some another amount), and households
    # paid then that are not now (stopped).
    villages = population.regions.filter(pc.equal(population.regions.column("level"), 4))
    district_of = dict(
        zip(
            villages.column("code").to_pylist(),
            [p.split("/")[1] for p in villages.column("path").to_pylist()],
            strict=True,
        )
    )
    paid = dibao_h[rng.random(n_d) < 0.9]
    gone = np.flatnonzero(~enrolled)[: max(n_d // 50, 1)]
    prev_h = np.r_[paid, gone]
    amounts = last[prev_h] * 100 + np.where(rng.random(len(prev_h)) < 0.1, 5_000, 0)
    amounts[len(paid) :] = 30_000
    t_rows = np.flatnonzero(tekun)
    regions = hh.column("region").to_pylist()
    previous = pa.table(
        {
            "beneficiary_id": pa.array(np.r_[h_ids[prev_h], p_ids[t_rows]]),
            "scheme": pa.array(["dibao"] * len(prev_h) + ["tekun"] * len(t_rows)),
            "district": pa.array(
                [district_of[regions[i]] for i in prev_h]
                + [district_of[regions[i]] for i in np.searchsorted(h_ids, p_house[t_rows])]
            ),
            "amount_fen": pa.array(
                np.r_[amounts, rng.integers(600, 1200, len(t_rows)) * 100].astype(np.int64)
            ),
        }
    )
    return {
        "enrolments": enrolments,
        "households": households,
        "members": members,
        "categories": categories,
        "accounts": accounts,
        "previous": previous,
        "oneoffs": oneoffs.snapshot_table(None),
        "villages": villages.select(["code", "path"]),
    }


def windows(population: Population, month: Period) -> dict[str, tuple[date, date | None] | None]:
    """An emergency window open in the month in every fourth district; closed before it in the rest."""
    districts = sorted(set(population.households.column("district").to_pylist()))
    closed = (date(2020, 1, 24), month.shift(-1).last_day)
    return {code: (month.first_day, None) if i % 4 == 0 else closed for i, code in enumerate(districts)}


def freeze_snapshot(population: Population, month: Period, directory: Path) -> rules.Frozen:
    """The month's payroll snapshot of the synthetic population, as payroll.freeze writes it."""
    params = rules.parameters_json([], windows(population, month))
    return rules.freeze(directory, payroll_tables(population, month), params)
