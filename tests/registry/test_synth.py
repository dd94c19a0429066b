"""The synthetic population (合成人口): what it contains, and its bulk load into the registry tables."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from doudi.audit.models import AuditEntry
from doudi.regions.models import Region
from doudi.registry import identity, synth
from doudi.registry.models import Household, Membership, Person, PersonCategory, Relation

HOUSEHOLD_COLUMNS = [
    ("household_id", pa.int64()), ("region", pa.string()), ("district", pa.string()), ("area_type", pa.string()),
    ("dibao_enrolled", pa.bool_()), ("dibao_last_amount", pa.int64()), ("deposits_fen", pa.int64()),
    ("vehicles", pa.int16()), ("houses", pa.int16()), ("address", pa.string()),
]  # fmt: skip
CATEGORIES = [
    "tekun", "orphan", "de_facto_unsupported_child", "hardship_child", "registered_poor", "elderly_alone",
    "left_behind_child", "left_behind_elderly", "severe_disability",
]  # fmt: skip
PERSON_COLUMNS = [
    ("person_id", pa.int64()), ("household_id", pa.int64()), ("id_number", pa.string()), ("name", pa.string()),
    ("sex", pa.string()), ("birth_date", pa.date32()), ("relation", pa.string()), ("phone", pa.string()),
    *[(f"income_{k}_fen", pa.int64())
      for k in ("wage", "business", "agricultural", "property", "transfer", "exempt")],
    ("work", pa.string()), *[(f"cat_{c}", pa.bool_()) for c in CATEGORIES], ("orphan_care", pa.string()),
    ("covid_confirmed_on", pa.date32()), ("covid_discharged_on", pa.date32()), ("covid_died_on", pa.date32()),
]  # fmt: skip
COUNTED = ["income_wage_fen", "income_business_fen", "income_agricultural_fen", "income_property_fen",
           "income_transfer_fen"]  # fmt: skip
REF = dt.date(2020, 1, 1)


@pytest.fixture(scope="module")
def pop():
    return synth.generate_population(5000, seed=11)


def rows(table):
    return table.to_pylist()


def age_on(birth: dt.date, day: dt.date = REF) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# --- what is generated --------------------------------------------------------------------------------


def test_schema_is_exactly_the_contract(pop):
    assert [(f.name, f.type) for f in pop.households.schema] == HOUSEHOLD_COLUMNS
    assert [(f.name, f.type) for f in pop.persons.schema] == PERSON_COLUMNS
    assert pop.regions.column_names[:5] == ["code", "name", "parent", "level", "path"]


def test_ids_are_valid_unique_and_agree_with_the_person(pop):
    households = {h["household_id"]: h for h in rows(pop.households)}
    persons = rows(pop.persons)
    ids = [p["id_number"] for p in persons]
    assert len(set(ids)) == len(ids)
    for p in persons:
        n = p["id_number"]
        assert len(n) == 18 and ric.calc_check_digit(n) == n[-1]
        assert ric.get_birth_date(n) == p["birth_date"]
        assert (int(n[16]) % 2 == 1) == (p["sex"] == "M")
        village = households[p["household_id"]]["region"]
        assert n[:6] == village[:6]  # the district's GB code (a functional zone's streets carry their host's)
        assert identity.parse(n).birth_date == p["birth_date"]
        # stdnum's full validate also requires the address code to have existed in the birth year
        # (see doudi.registry.identity); every district code exists since 2016.
        if p["birth_date"].year >= 2017:
            assert ric.is_valid(n), n


def test_same_seed_same_population_other_seed_other_people():
    a, b = synth.generate_population(300, seed=5), synth.generate_population(300, seed=5)
    assert a.regions.equals(b.regions) and a.households.equals(b.households) and a.persons.equals(b.persons)
    c = synth.generate_population(300, seed=6)
    assert not a.persons.column("id_number").equals(c.persons.column("id_number"))
    assert a.regions.equals(c.regions)  # the region tree depends on the scale only


def test_households_and_their_members(pop):
    hh = pop.households.column("household_id").to_numpy()
    p_hh = pop.persons.column("household_id").to_numpy()
    assert (np.diff(p_hh) >= 0).all(), "persons sorted by household"
    assert (np.diff(pop.persons.column("person_id").to_numpy()) > 0).all()
    sizes = np.bincount(np.searchsorted(hh, p_hh), minlength=len(hh))
    assert sizes.min() >= 1 and sizes.max() <= 6
    assert 2.3 <= sizes.mean() <= 2.7
    heads = pc.filter(pop.persons.column("household_id"), pc.equal(pop.persons.column("relation"), "head"))
    assert sorted(heads.to_pylist()) == hh.tolist()
    assert set(pop.persons.column("relation").to_pylist()) <= set(Relation.values)
    assert set(pop.persons.column("relation").to_pylist()) == {"head", "spouse", "child", "parent", "other"}
    urban = pc.mean(pc.equal(pop.households.column("area_type"), "urban").cast(pa.int8())).as_py()
    assert 0.5 < urban < 0.9
    regions = {r["code"]: r for r in rows(pop.regions)}
    for h in rows(pop.households)[:500]:
        village = regions[h["region"]]
        assert village["level"] == 4 and village["path"].split("/")[1] == h["district"]
        assert h["area_type"] == ("urban" if village["name"].endswith("社区") else "rural")


def test_region_tree_scales_to_the_province():
    regions = synth.generate_population(1000, seed=1).regions
    levels = pc.value_counts(regions.column("level")).to_pylist()
    counts = {v["values"]: v["counts"] for v in levels}
    assert counts[1] == 1 and counts[2] == 41 and counts[3] >= 41 and counts[4] >= 82
    by_code = {r["code"]: r for r in rows(regions)}
    assert {"500190", "500191", "500192"} <= set(by_code) and by_code["500190"]["is_local_code"]
    for r in by_code.values():
        if r["level"] > 1:
            parent = by_code[r["parent"]]
            assert r["path"] == f"{parent['path']}{r['code']}/" and r["level"] == parent["level"] + 1
        if r["level"] == 3:
            assert len(r["code"]) == 9 and (r["name"].endswith("街道") or r["name"][-1] in "镇乡")
        if r["level"] == 4:
            assert len(r["code"]) == 12 and r["code"].startswith(r["parent"])
    # Under a functional zone the streets carry the host district's GB code.
    zone_children = [r for r in by_code.values() if r["parent"] == "500190"]
    assert zone_children and all(r["code"].startswith("500112") for r in zone_children)


def test_a_code_is_the_same_place_at_every_scale():
    small = {r["code"]: r for r in rows(synth.generate_population(2_000, seed=1).regions)}
    large = {r["code"]: r for r in rows(synth.generate_population(40_000, seed=2).regions)}
    common = small.keys() & large.keys()
    assert len(common) > 100
    assert all(small[c]["path"] == large[c]["path"] for c in common)
    same_name = sum(small[c]["name"] == large[c]["name"] for c in common)
    assert same_name >= 0.95 * len(common)


def test_district_list_is_the_regions_apps():
    from doudi.regions.loading import chongqing_rows

    theirs = {(r.code, r.name) for r in chongqing_rows() if r.parent_code}
    assert {(code, name) for code, name, _w, _u in synth.DISTRICTS} == theirs


def test_categories_agree_with_ages_and_households(pop):
    sizes = {}
    for p in rows(pop.persons):
        sizes[p["household_id"]] = sizes.get(p["household_id"], 0) + 1
    seen = dict.fromkeys(CATEGORIES, 0)
    ageing_out = 0
    for p in rows(pop.persons):
        age = age_on(p["birth_date"])
        for c in CATEGORIES:
            seen[c] += p[f"cat_{c}"]
        if p["cat_orphan"] or p["cat_de_facto_unsupported_child"] or p["cat_hardship_child"]:
            assert age < 18 and p["relation"] not in ("head", "spouse")
        if p["cat_left_behind_child"]:
            assert age < 16
        if p["cat_elderly_alone"]:
            assert age >= 60 and sizes[p["household_id"]] == 1
        if p["cat_left_behind_elderly"]:
            assert age >= 60
        if p["cat_tekun"]:
            assert age >= 18 and p["work"] == "none"
        if p["orphan_care"] == "institutional":
            assert p["cat_orphan"]
        if p["cat_orphan"] and dt.date(2002, 1, 1) <= p["birth_date"] <= dt.date(2003, 12, 31):
            ageing_out += 1
        if age < 18:
            assert p["work"] == "none"
    assert all(seen.values()), seen
    assert seen["orphan"] < seen["tekun"] and seen["tekun"] < 0.05 * pop.persons.num_rows
    assert ageing_out >= 1, "some orphans turn 18 in 2020"


def test_covid_cases(pop):
    cases = [p for p in rows(pop.persons) if p["covid_confirmed_on"]]
    assert 3 <= len(cases) < 0.01 * pop.persons.num_rows
    for p in cases:
        assert dt.date(2020, 1, 24) <= p["covid_confirmed_on"] <= dt.date(2020, 4, 30)
        assert not (p["covid_discharged_on"] and p["covid_died_on"])
        end = p["covid_discharged_on"] or p["covid_died_on"]
        assert end is None or end > p["covid_confirmed_on"]
    assert any(p["covid_died_on"] for p in cases)
    others = [p for p in rows(pop.persons) if not p["covid_confirmed_on"]]
    assert not any(p["covid_discharged_on"] or p["covid_died_on"] for p in others)


def test_incomes_around_the_dibao_line(pop):
    persons = rows(pop.persons)
    unit_income, unit_size = {}, {}
    for p in persons:
        assert all(
            p[f"income_{k}_fen"] >= 0
            for k in ("wage", "business", "agricultural", "property", "transfer", "exempt")
        )
        if not p["cat_tekun"]:
            unit_income[p["household_id"]] = unit_income.get(p["household_id"], 0) + sum(
                p[c] for c in COUNTED
            )
            unit_size[p["household_id"]] = unit_size.get(p["household_id"], 0) + 1
    below = enrolled_below = enrolled_above = 0
    for h in rows(pop.households):
        assert (h["dibao_last_amount"] is not None) == h["dibao_enrolled"]
        assert h["deposits_fen"] >= 0 and h["vehicles"] >= 0 and h["houses"] >= 0
        size = unit_size.get(h["household_id"], 0)
        line = synth.DIBAO_STANDARD[h["area_type"]] * size * 100
        is_below = size > 0 and unit_income.get(h["household_id"], 0) < line
        below += is_below
        enrolled_below += is_below and h["dibao_enrolled"]
        enrolled_above += (not is_below) and h["dibao_enrolled"]
        if h["dibao_enrolled"]:
            assert h["dibao_last_amount"] > 0
    n = pop.households.num_rows
    assert 0.03 * n < below < 0.2 * n
    assert 0.3 * below < enrolled_below < below
    assert 0 < enrolled_above < enrolled_below


def test_households_only_in_the_given_villages(regions):
    pop = synth.generate_population(60, seed=3, villages=[regions.a_v, regions.b_v])
    assert set(pop.households.column("region").to_pylist()) == {regions.a_v.code, regions.b_v.code}
    assert set(pop.households.column("district").to_pylist()) == {"500101", "500102"}
    assert set(pop.households.column("area_type").to_pylist()) == {"urban"}  # both are 社区
    assert set(pop.regions.column("code").to_pylist()) == {regions.a_v.code, regions.b_v.code}
    rural = synth.generate_population(10, seed=3, villages=["500229105201"])
    assert set(rural.households.column("area_type").to_pylist()) == {"rural"}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(households=st.integers(min_value=1, max_value=400), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_size_and_seed_gives_valid_distinct_ids(households, seed):
    pop = synth.generate_population(households, seed=seed)
    assert pop.households.num_rows == households
    ids = pop.persons.column("id_number").to_pylist()
    assert len(set(ids)) == len(ids) == pop.persons.num_rows
    assert all(ric.calc_check_digit(n) == n[-1] for n in ids)
    assert synth._validate(pop) == []


def test_parquet_round_trip(tmp_path, pop):
    paths = synth.write_population(pop, tmp_path / "p")
    assert sorted(p.name for p in paths.values()) == [
        "households.parquet",
        "persons.parquet",
        "regions.parquet",
    ]
    back = synth.read_population(tmp_path / "p")
    assert back.persons.equals(pop.persons) and back.households.equals(pop.households)
    assert back.regions.equals(pop.regions)


# --- loading ----------------------------------------------------------------------------------------------


def table_counts():
    return {
        "regions": Region.objects.count(), "households": Household.objects.count(),
        "persons": Person.objects.count(), "memberships": Membership.objects.count(),
        "categories": PersonCategory.objects.count(), "audit": AuditEntry.objects.count(),
    }  # fmt: skip


def assert_loaded(pop, counts):
    """Every row of the tables is in the database as the tables say."""
    h_map = dict(
        zip(
            pop.households.column("household_id").to_pylist(),
            range(counts["household_ids"][0], counts["household_ids"][1] + 1),
            strict=True,
        )
    )
    db_people = {p.id_number: p for p in Person.objects.filter(id__gte=counts["person_ids"][0])}
    members = {m.person_id: m for m in Membership.objects.filter(person_id__gte=counts["person_ids"][0])}
    cats: dict[int, set] = {}
    for pid, cat, valid_from, valid_to in PersonCategory.objects.filter(
        person_id__gte=counts["person_ids"][0]
    ).values_list("person_id", "category", "valid_from", "valid_to"):
        cats.setdefault(pid, set()).add(cat)
        assert valid_to is None and valid_from <= dt.date(2019, 12, 31)
    households = {h.id: h for h in Household.objects.filter(id__gte=counts["household_ids"][0])}
    table_hh = {h["household_id"]: h for h in rows(pop.households)}
    assert len(db_people) == pop.persons.num_rows and len(households) == pop.households.num_rows
    for p in rows(pop.persons):
        d = db_people[p["id_number"]]
        h = households[h_map[p["household_id"]]]
        t = table_hh[p["household_id"]]
        assert (d.name, d.sex, d.birth_date, d.phone, d.work, d.orphan_care) == (
            p["name"],
            p["sex"],
            p["birth_date"],
            p["phone"],
            p["work"],
            p["orphan_care"],
        )
        assert [
            getattr(d, f"income_{k}_fen")
            for k in ("wage", "business", "agricultural", "property", "transfer", "exempt")
        ] == [
            p[f"income_{k}_fen"]
            for k in ("wage", "business", "agricultural", "property", "transfer", "exempt")
        ]
        assert (d.covid_confirmed_on, d.covid_discharged_on, d.covid_died_on) == (
            p["covid_confirmed_on"],
            p["covid_discharged_on"],
            p["covid_died_on"],
        )
        assert d.region_id == t["region"] == h.region_id
        m = members[d.id]
        assert m.household_id == h.id and m.relation == p["relation"] and m.left_on is None
        assert d.birth_date <= m.joined_on <= dt.date(2019, 12, 31)
        assert cats.get(d.id, set()) == {c for c in CATEGORIES if p[f"cat_{c}"]}
        if p["relation"] == "head":
            assert h.head_id == d.id
        for f in (
            "area_type",
            "dibao_enrolled",
            "dibao_last_amount",
            "deposits_fen",
            "vehicles",
            "houses",
            "address",
        ):
            assert getattr(h, f) == t[f]


@pytest.mark.django_db
def test_load_writes_every_table(tmp_path):
    pop = synth.generate_population(200, seed=21)
    before = table_counts()
    counts = synth.load_population(pop)
    after = table_counts()
    n_cats = sum(pc.sum(pop.persons.column(f"cat_{c}")).as_py() or 0 for c in CATEGORIES)
    assert counts["regions"] == pop.regions.num_rows  # an empty tree: every region is new
    assert {k: after[k] - before[k] for k in after} == {
        "regions": pop.regions.num_rows, "households": 200, "persons": pop.persons.num_rows,
        "memberships": pop.persons.num_rows, "categories": n_cats, "audit": 1,
    }  # fmt: skip
    assert counts["persons"] == pop.persons.num_rows and counts["categories"] == n_cats
    assert_loaded(pop, counts)
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == "import" and entry.object_type == "registry.population"
    assert entry.after["persons"] == pop.persons.num_rows and entry.region_path == "500000/"
    stored = Region.objects.get(code=pop.households.column("region")[0].as_py())
    assert stored.level == 4 and stored.path.count("/") == 4
    # The sequences continue after the block: the next household made by the ORM gets a fresh id.
    h = Household.objects.create(region=stored, area_type="urban")
    assert h.id > counts["household_ids"][1]


@pytest.mark.django_db
def test_a_second_load_of_the_same_people_is_refused_whole():
    pop = synth.generate_population(200, seed=21)
    synth.load_population(pop)
    before = table_counts()
    with pytest.raises(synth.PopulationConflict) as exc:
        synth.load_population(pop)
    assert exc.value.count == pop.persons.num_rows
    assert table_counts() == before
    # One clash among new people is enough to refuse them all.
    other = synth.generate_population(150, seed=99)
    taken = pop.persons.column("id_number")[0].as_py()
    ids = other.persons.column("id_number").to_pylist()
    ids[-1] = taken
    clash = synth.Population(
        other.regions,
        other.households,
        other.persons.set_column(
            other.persons.schema.get_field_index("id_number"), "id_number", pa.array(ids, pa.string())
        ),
    )
    with pytest.raises(synth.PopulationConflict) as exc:
        synth.load_population(clash)
    assert exc.value.existing == [taken] and exc.value.count == 1
    assert table_counts() == before


@pytest.mark.django_db
def test_two_populations_with_other_seeds_load_side_by_side():
    a, b = synth.generate_population(120, seed=1), synth.generate_population(120, seed=2)
    ca = synth.load_population(a)
    cb = synth.load_population(b)
    assert cb["regions"] == 0  # same scale, same tree
    assert cb["household_ids"][0] == ca["household_ids"][1] + 1
    assert_loaded(b, cb)


@pytest.mark.django_db
def test_invalid_tables_write_nothing(regions):
    pop = synth.generate_population(50, seed=4, villages=[regions.a_v])
    before = table_counts()
    ids = pop.persons.column("id_number").to_pylist()
    ids[0] = ids[0][:17] + ("0" if ids[0][17] != "0" else "1")  # wrong check digit
    rel = pop.persons.column("relation").to_pylist()
    rel[0] = "child"  # household 1 without a head
    bad = pop.persons.set_column(2, "id_number", pa.array(ids, pa.string()))
    bad = bad.set_column(bad.schema.get_field_index("relation"), "relation", pa.array(rel, pa.string()))
    with pytest.raises(synth.PopulationInvalid) as exc:
        synth.load_population(synth.Population(pop.regions, pop.households, bad))
    text = " ".join(exc.value.messages)
    assert "check digit" in text and "exactly one head" in text
    districts = pop.households.column("district").to_pylist()
    districts[0] = "500102"
    elsewhere = pop.households.set_column(2, "district", pa.array(districts, pa.string()))
    with pytest.raises(synth.PopulationInvalid, match="another district"):
        synth.load_population(synth.Population(pop.regions, elsewhere, pop.persons))
    unknown = synth.generate_population(5, seed=4, villages=["500101001999"])
    with pytest.raises(synth.PopulationInvalid, match="500101001999"):
        synth.load_population(unknown)
    assert table_counts() == before


@pytest.mark.django_db
def test_deferred_indexes_are_rebuilt_as_they_were():
    if connection.vendor != "postgresql":
        pytest.skip(reason="PostgreSQL not available (this run uses SQLite)")

    def definitions():
        with connection.cursor() as c:
            c.execute("SELECT indexdef FROM pg_indexes WHERE tablename LIKE 'registry_%' ORDER BY 1")
            idx = [r[0] for r in c.fetchall()]
            c.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid::regclass::text LIKE 'registry_%' ORDER BY 1"
            )
            return idx, c.fetchall()

    before = definitions()
    pop = synth.generate_population(200, seed=8)
    counts = synth.load_population(pop, defer_indexes=True)
    assert definitions() == before
    assert_loaded(pop, counts)


@pytest.mark.django_db
def test_synth_command_generates_and_loads(tmp_path):
    out = tmp_path / "pop"
    call_command("synth", households=40, out=str(out), seed=3)
    assert (out / "persons.parquet").exists()
    before = Household.objects.count()
    call_command("synth", load=str(out))
    assert Household.objects.count() == before + 40
    call_command("synth", households=30, load="", seed=4)
    assert Household.objects.count() == before + 70
