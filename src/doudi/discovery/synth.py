"""合成发现数据: eligible non-applicants planted in a synthetic population, with the truth kept apart.

`plant(population)` takes a population of doudi.registry.synth and returns a World:

- the population **as already served**: registered-poor households in dibao, 特困 persons and orphans /
  事实无人抚养 children enrolled (`enrolments`), every person alone of 60+ or severely disabled with a small
  pension, and no COVID cases (the planted ones are the only ones) — so what the sweep finds in it comes
  from the plants;
- per kind of lead, **positives** (probably eligible, receiving nothing: the features the sweep reads
  say so and the truth agrees), **decoys** (the same features, but the truth — something no extract
  carries, such as a supporter living elsewhere or a new job without insurance — says not eligible:
  they bound the precision from below) and **near misses** (one feature short: the sweep must not list
  them);
- the department extracts the plants need, in the verification schemas (text, as files arrive): 人社
  and 市场监管 at two dates, 失业登记, 死亡登记 and 住院记录;
- `truth`: one row per planted subject (kind, role, the head's and the person's ID numbers, eligible).
  The sweep never reads it: it is written beside the files, for bench/discovery.py to score against.

Everything is numpy/Arrow; the same seed gives the same world.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from doudi.registry.synth import DIBAO_STANDARD, Population

DAY = date(2020, 3, 31)  # the sweep's day
PREVIOUS = date(2020, 1, 31)  # the earlier 人社 / 市场监管 extract
PENSION_FEN = 15_000  # 城乡居民基础养老金, a month, for people alone of 60+ (and disability allowances)
KINDS = ("registered_poor", "income_drop", "covid_patient", "covid_bereaved", "child", "tekun", "expenditure")
TRUTH_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("role", pa.string()),  # positive | decoy | near_miss
        ("household_key", pa.string()),  # the head's ID number
        ("person_key", pa.string()),  # the person's ID number for a person-level kind, else ""
        ("eligible", pa.bool_()),
    ]
)
ENROLMENT_SCHEMA = pa.schema([("person_key", pa.string()), ("scheme", pa.string())])


@dataclass
class World:
    population: Population
    enrolments: pa.Table  # ENROLMENT_SCHEMA: who is already served (person-level schemes)
    extracts: dict[tuple[str, date], pa.Table]  # (source, extract date) -> text table in its schema
    truth: pa.Table  # TRUTH_SCHEMA


def _col(t: pa.Table, name: str) -> np.ndarray:
    c = t.column(name)
    return np.asarray(
        pc.fill_null(c, 0).to_numpy() if pa.types.is_integer(c.type) else c.to_numpy(zero_copy_only=False)
    )


def _dates(t: pa.Table, name: str) -> np.ndarray:
    return np.asarray(t.column(name).to_numpy(zero_copy_only=False), dtype="datetime64[D]")


def plant(population: Population, *, rate: float = 0.002, decoy_share: float = 0.1, seed: int = 13) -> World:
    """The served population with plants, its extracts and the truth (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    hh = population.households.sort_by("household_id").combine_chunks()
    pp = population.persons.sort_by(
        [("household_id", "ascending"), ("person_id", "ascending")]
    ).combine_chunks()
    H, P = hh.num_rows, pp.num_rows
    hidx = np.searchsorted(_col(hh, "household_id"), _col(pp, "household_id"))
    relation = _col(pp, "relation").astype(str)
    birth = _dates(pp, "birth_date")
    age = (np.datetime64(DAY) - birth).astype(np.int64) / 365.2425
    size = np.bincount(hidx, minlength=H)
    head = np.full(H, -1, dtype=np.int64)
    is_head = relation == "head"
    head[hidx[is_head]] = np.flatnonzero(is_head)
    spouse = np.full(H, -1, dtype=np.int64)
    is_spouse = relation == "spouse"
    spouse[hidx[is_spouse]] = np.flatnonzero(is_spouse)
    urban = _col(hh, "area_type").astype(str) == "urban"
    std_fen = np.where(urban, DIBAO_STANDARD["urban"], DIBAO_STANDARD["rural"]) * 100

    inc = {
        k: _col(pp, f"income_{k}_fen").astype(np.int64).copy()
        for k in ("wage", "business", "agricultural", "property", "transfer")
    }
    cat = {
        c: _col(pp, f"cat_{c}").astype(bool).copy()
        for c in (
            "registered_poor",
            "tekun",
            "orphan",
            "de_facto_unsupported_child",
            "hardship_child",
            "severe_disability",
        )
    }
    enrolled = _col(hh, "dibao_enrolled").astype(bool).copy()
    last = _col(hh, "dibao_last_amount").astype(np.int64).copy()
    deposits = _col(hh, "deposits_fen").astype(np.int64).copy()
    confirmed = np.full(P, np.datetime64("NaT"), dtype="datetime64[D]")
    discharged = confirmed.copy()
    died = confirmed.copy()

    # --- the population as already served ----------------------------------------------------------
    poor_h = np.bincount(hidx, weights=cat["registered_poor"], minlength=H) > 0
    enrolled |= poor_h
    disabled_p = cat["severe_disability"]
    alone = size[hidx] == 1
    declared = sum(inc.values())
    pensioned = alone & ((age >= 60) | disabled_p) & (declared == 0) & ~cat["tekun"]
    inc["transfer"][pensioned] = PENSION_FEN
    # Children whose parents in the household are all severely disabled (事实无人抚养) are served too.
    parent = is_head | is_spouse
    n_parents = np.bincount(hidx, weights=parent, minlength=H)
    n_unable = np.bincount(hidx, weights=parent & disabled_p, minlength=H)
    minor_child = (relation == "child") & (age < 18)
    both_unable = minor_child & (n_parents[hidx] == 2) & (n_unable[hidx] == 2)
    served_children = cat["orphan"] | cat["de_facto_unsupported_child"] | both_unable
    enrol_p = np.r_[np.flatnonzero(cat["tekun"]), np.flatnonzero(served_children)]
    enrol_scheme = ["tekun"] * int(cat["tekun"].sum()) + ["children"] * int(served_children.sum())

    # --- the plants ---------------------------------------------------------------------------------
    any_cat = np.zeros(H, dtype=bool)
    for flags in cat.values():
        any_cat |= np.bincount(hidx, weights=flags, minlength=H) > 0
    clean = ~enrolled & ~any_cat & (head >= 0)
    used = np.zeros(H, dtype=bool)
    n = max(4, round(H * rate))
    n_decoy = max(1, round(n * decoy_share))
    truth: list[
        tuple[str, str, int, int, bool]
    ] = []  # kind, role, household index, person index (-1), eligible

    def pick(pool: np.ndarray, k: int) -> np.ndarray:
        candidates = np.flatnonzero(pool & ~used)
        if len(candidates) < k:
            raise ValueError(f"population too small to plant {k} households")
        chosen = np.sort(rng.choice(candidates, size=k, replace=False))
        used[chosen] = True
        return chosen

    def roles(pool: np.ndarray) -> dict[str, np.ndarray]:
        return {"positive": pick(pool, n), "decoy": pick(pool, n_decoy), "near_miss": pick(pool, n)}

    def record(kind: str, role: str, hs: np.ndarray, persons: np.ndarray | None = None) -> None:
        for i, h in enumerate(hs):
            truth.append((kind, role, int(h), -1 if persons is None else int(persons[i]), role == "positive"))

    def zero_incomes(hs: np.ndarray) -> None:
        members = np.isin(hidx, hs)
        for values in inc.values():
            values[members] = 0

    si_prev_extra: list[tuple[int, int]] = []  # (person, wage fen) only in the previous 人社 extract
    si_both_extra: list[tuple[int, int]] = []
    biz_stop: list[int] = []
    unemployed: list[int] = []
    deaths: list[tuple[int, np.datetime64]] = []
    stays: list[tuple[int, int]] = []  # (person, out-of-pocket fen)
    no_si: set[int] = set()

    # 建档立卡: positives and decoys not enrolled; near misses enrolled in dibao.
    for role, hs in roles(clean).items():
        cat["registered_poor"][head[hs]] = True
        if role == "near_miss":
            enrolled[hs] = True
        record("registered_poor", role, hs)

    # Income dropped: the head's wage or business was the household's income; it stopped.
    working = clean & (head >= 0)
    working[head >= 0] &= (age[head[head >= 0]] >= 18) & (age[head[head >= 0]] < 58)
    for role, hs in roles(working).items():
        zero_incomes(hs)
        deposits[hs] = 0
        w = (std_fen[hs] * size[hs] * 3 // 2 // 100) * 100
        heads = head[hs]
        for i, (h, p) in enumerate(zip(hs, heads, strict=True)):
            variant = i % 3
            if variant == 1:
                inc["business"][p] = w[i]
                biz_stop.append(p)
            else:
                inc["wage"][p] = w[i]
                no_si.add(p)
                if variant == 0:
                    si_prev_extra.append((p, w[i]))
                else:
                    unemployed.append(p)
            if role == "near_miss":
                inc["property"][p] = std_fen[h] * size[h] + 10_000
        record("income_drop", role, hs)

    # COVID patients: in a dibao household (a target group), no R5 paid; near misses in no target group.
    for role, hs in roles(clean).items():
        p = head[hs]
        confirmed[p] = np.datetime64("2020-02-10") + rng.integers(0, 20, len(p)).astype("timedelta64[D]")
        discharged[p] = confirmed[p] + 25
        if role != "near_miss":
            enrolled[hs] = True
        record("covid_patient", role, hs, p)

    # Families of COVID deaths (with a spouse alive): R6 and R5 both due; near misses died of other causes.
    with_spouse = clean & (spouse >= 0)
    for role, hs in roles(with_spouse).items():
        p = head[hs]
        enrolled[hs] = True
        if role == "near_miss":
            deaths += [(int(x), np.datetime64("2020-02-20")) for x in p]
        else:
            confirmed[p] = np.datetime64("2020-02-01")
            died[p] = np.datetime64("2020-02-20")
            record("covid_patient", role, hs, p)
        record("covid_bereaved", role, hs)

    # Children: the head died, the spouse is severely disabled; near misses: the spouse is able.
    has_child = np.bincount(hidx, weights=minor_child, minlength=H) > 0
    for role, hs in roles(with_spouse & has_child).items():
        deaths += [(int(x), np.datetime64("2019-11-15")) for x in head[hs]]
        if role != "near_miss":
            cat["severe_disability"][spouse[hs]] = True
        kids = np.flatnonzero(minor_child & np.isin(hidx, hs))
        record("child", role, hidx[kids], kids)

    # 特困 candidates: alone, 60+, no income at all; near misses have a wage known to 人社.
    old_alone = clean & (size == 1)
    old_alone[head >= 0] &= age[head[head >= 0]] >= 62
    for role, hs in roles(old_alone).items():
        zero_incomes(hs)
        if role == "near_miss":
            si_both_extra += [(int(x), 150_000) for x in head[hs]]
        record("tekun", role, hs, head[hs])

    # 支出型: hospital costs of 0.6 (near misses 0.1) years of the standard against an income of 1.3 standards.
    for role, hs in roles(clean & ~minor_child[np.maximum(head, 0)]).items():
        zero_incomes(hs)
        line = std_fen[hs] * size[hs]
        inc["wage"][head[hs]] = (line * 13 // 10 // 100) * 100
        share = 10 if role == "near_miss" else 60
        stays += [
            (int(p), int(c)) for p, c in zip(head[hs], (12 * line * share // 100 // 100) * 100, strict=True)
        ]
        record("expenditure", role, hs)

    # --- the tables ---------------------------------------------------------------------------------
    last = np.where(enrolled & (last <= 0), 300, last)
    people = pp
    for k, values in inc.items():
        people = people.set_column(
            people.schema.get_field_index(f"income_{k}_fen"), f"income_{k}_fen", pa.array(values)
        )
    for c, flags in cat.items():
        people = people.set_column(people.schema.get_field_index(f"cat_{c}"), f"cat_{c}", pa.array(flags))
    for name, values in (
        ("covid_confirmed_on", confirmed),
        ("covid_discharged_on", discharged),
        ("covid_died_on", died),
    ):
        people = people.set_column(people.schema.get_field_index(name), name, pa.array(values, pa.date32()))
    households = hh
    households = households.set_column(
        households.schema.get_field_index("dibao_enrolled"), "dibao_enrolled", pa.array(enrolled)
    )
    households = households.set_column(
        households.schema.get_field_index("dibao_last_amount"),
        "dibao_last_amount",
        pa.array(np.where(enrolled, last, 0), pa.int64(), mask=~enrolled),
    )
    households = households.set_column(
        households.schema.get_field_index("deposits_fen"), "deposits_fen", pa.array(deposits)
    )
    ids = pp.column("id_number")
    names = pp.column("name")

    def base(index: np.ndarray) -> dict[str, pa.Array]:
        take = pa.array(np.asarray(index, dtype=np.int64))
        return {"id_number": pc.take(ids, take), "name": pc.take(names, take)}

    def yuan(fen: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(np.asarray(fen, dtype=np.int64) // 100), pa.string())

    def text(values: list[str] | str, k: int) -> pa.Array:
        return pa.array([values] * k if isinstance(values, str) else values, pa.string())

    earners = np.flatnonzero((inc["wage"] > 0) & ~np.isin(np.arange(P), list(no_si)))
    both = np.r_[earners, [p for p, _ in si_both_extra]].astype(np.int64)
    both_wage = np.r_[inc["wage"][earners], [w for _, w in si_both_extra]]
    prev_only = np.array([p for p, _ in si_prev_extra], dtype=np.int64)
    prev_wage = np.array([w for _, w in si_prev_extra], dtype=np.int64)

    def si(index: np.ndarray, wage: np.ndarray) -> pa.Table:
        k = len(index)
        return pa.table(base(index) | {"employer": text("重庆某某有限公司", k), "insured_since": text("2015-01-01", k),
                                       "monthly_wage": yuan(wage)})  # fmt: skip

    owners = np.flatnonzero(inc["business"] > 0)
    stopping = np.isin(owners, biz_stop)

    def business(status_stop: str) -> pa.Table:
        k = len(owners)
        status = np.where(stopping, status_stop, "存续").tolist()
        codes = pc.binary_join_element_wise("92500000MA", pc.cast(pa.array(owners), pa.string()), "")
        return pa.table(base(owners) | {"credit_code": codes, "business_name": text("个体工商户", k),
                                        "registered_on": text("2016-06-01", k), "status": pa.array(status)})  # fmt: skip

    extracts = {
        ("social_insurance", PREVIOUS): pa.concat_tables([si(both, both_wage), si(prev_only, prev_wage)]),
        ("social_insurance", DAY): si(both, both_wage),
        ("business", PREVIOUS): business("存续"),
        ("business", DAY): business("注销"),
        ("unemployment", DAY): pa.table(
            base(np.array(unemployed, dtype=np.int64))
            | {
                "registered_on": text("2020-02-15", len(unemployed)),
                "ended_on": text("", len(unemployed)),
                "benefit": text("", len(unemployed)),
            }  # fmt: skip
        ),
        ("deaths", DAY): pa.table(
            base(np.array([p for p, _ in deaths], dtype=np.int64))
            | {
                "died_on": text([str(d) for _, d in deaths], len(deaths)),
                "authority": text("公安局", len(deaths)),
            }
        ),
        ("hospitalisation", DAY): pa.table(
            base(np.array([p for p, _ in stays], dtype=np.int64))
            | {
                "hospital": text("重庆市人民医院", len(stays)),
                "admitted_on": text("2020-01-10", len(stays)),
                "discharged_on": text("2020-01-25", len(stays)),
                "out_of_pocket": yuan(np.array([c for _, c in stays])),
            }  # fmt: skip
        ),
    }
    head_of = pa.array(np.array([head[t[2]] for t in truth], dtype=np.int64))
    person_of = np.array([t[3] for t in truth], dtype=np.int64)
    person_keys = pc.take(ids, pa.array(np.maximum(person_of, 0)))
    truth_table = pa.table(
        {
            "kind": pa.array([t[0] for t in truth], pa.string()),
            "role": pa.array([t[1] for t in truth], pa.string()),
            "household_key": pc.take(ids, head_of),
            "person_key": pc.if_else(pa.array(person_of >= 0), person_keys, ""),
            "eligible": pa.array([t[4] for t in truth], pa.bool_()),
        },
        schema=TRUTH_SCHEMA,
    )
    enrolments = pa.table(
        {
            "person_key": pc.take(ids, pa.array(enrol_p.astype(np.int64))),
            "scheme": pa.array(enrol_scheme, pa.string()),
        },
        schema=ENROLMENT_SCHEMA,
    )
    return World(Population(population.regions, households, people), enrolments, extracts, truth_table)


def load_world(world: World, work_dir, *, progress=print) -> dict[str, float]:
    """Load a world into the database (Django): the population (registry.synth.load_population), the
    enrolments of those already served, and each extract through the verification loader (validated
    whole, like any bureau's file). Returns the seconds each part took."""
    import time
    from pathlib import Path

    import pyarrow.parquet as pq
    from django.utils import timezone

    from doudi.benefits.models import Enrolment
    from doudi.registry.models import Membership, Person
    from doudi.registry.synth import load_population
    from doudi.verification.services import load_extract

    timings = {}
    t = time.perf_counter()
    load_population(world.population)
    timings["population"] = time.perf_counter() - t
    t = time.perf_counter()
    keys = world.enrolments.column("person_key").to_pylist()
    schemes = world.enrolments.column("scheme").to_pylist()
    ids: dict[str, int] = {}
    for i in range(0, len(keys), 5000):
        ids.update(Person.objects.filter(id_number__in=keys[i : i + 5000]).values_list("id_number", "id"))
    homes: dict[int, int] = {}
    people = list(ids.values())
    for i in range(0, len(people), 5000):
        homes.update(
            Membership.objects.filter(person_id__in=people[i : i + 5000], left_on__isnull=True).values_list(
                "person_id", "household_id"
            )
        )
    now = timezone.now()
    Enrolment.objects.bulk_create(
        [
            Enrolment(
                household_id=homes[ids[k]],
                person_id=ids[k],
                scheme=s,
                status="active",
                from_month=date(2019, 1, 1),
                monthly_amount=1000,
                approved_at=now,
            )  # fmt: skip
            for k, s in zip(keys, schemes, strict=True)
        ],
        batch_size=5000,
    )
    timings["enrolments"] = time.perf_counter() - t
    t = time.perf_counter()
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    for (source, day), table in world.extracts.items():
        path = work / f"{source}-{day}.parquet"
        pq.write_table(table, path)
        extract = load_extract(source=source, extract_date=day, path=path, file_name=path.name)
        if extract.status != "loaded":
            raise RuntimeError(f"{source} {day} refused: {extract.problems[:3]}")
        progress(f"loaded {source} {day}: {extract.rows:,} rows")
    timings["extracts"] = time.perf_counter() - t
    return timings


def score(truth: pa.Table, leads: pa.Table) -> dict[str, dict[str, float]]:
    """Recall and precision per kind. `leads`: kind, household_key (the head's ID number), person_key
    ("" for a household-level lead). A lead is true when the truth lists its subject as eligible;
    recall counts the eligible subjects found."""
    out: dict[str, dict[str, float]] = {}
    t = truth.to_pylist()
    found = {(r["kind"], r["household_key"], r["person_key"] or "") for r in leads.to_pylist()}
    eligible = {(r["kind"], r["household_key"], r["person_key"]) for r in t if r["eligible"]}
    planted_near = {(r["kind"], r["household_key"], r["person_key"]) for r in t if r["role"] == "near_miss"}
    for kind in KINDS:
        mine = {f for f in found if f[0] == kind}
        true = {e for e in eligible if e[0] == kind}
        hit = mine & true
        out[kind] = {
            "eligible": len(true),
            "leads": len(mine),
            "found": len(hit),
            "recall": len(hit) / len(true) if true else 1.0,
            "precision": len(hit) / len(mine) if mine else 1.0,
            "near_misses_listed": len(mine & {n for n in planted_near if n[0] == kind}),
        }
    return out
