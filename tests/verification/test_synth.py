"""Synthetic department extracts: valid in every source's schema, with the mismatches verification must find."""

import datetime as dt
import io

import pyarrow.compute as pc
import pytest
from django.core.management import call_command

from doudi.registry.synth import generate_population, write_population
from doudi.verification import synth
from doudi.verification.extracts import validate_and_store
from doudi.verification.models import Extract
from doudi.verification.sources import SCHEMAS, Source


@pytest.fixture(scope="module")
def population():
    return generate_population(400, seed=7)


def test_every_synthetic_extract_passes_validation_and_the_total_is_as_asked(population, tmp_path):
    tables = synth.generate_extracts(population.households, population.persons, records=6_000,
                                     extract_date=dt.date(2020, 3, 31), seed=1)  # fmt: skip
    assert abs(sum(t.num_rows for t in tables.values()) - 6_000) <= len(Source)
    for fmt in ("parquet", "csv"):
        paths = synth.write_extracts(tables, tmp_path / fmt, fmt)
        for source, path in paths.items():
            result = validate_and_store(path, source=source, fmt=fmt, destination=tmp_path / f"{fmt}-{source}.out",
                                        data_dir=tmp_path)  # fmt: skip
            assert result.ok, (source, result.problems[:3])
            assert result.rows == tables[source].num_rows


def test_the_mismatches_are_there(population):
    tables = synth.generate_extracts(population.households, population.persons, records=20_000,
                                     extract_date=dt.date(2020, 3, 31), seed=2)  # fmt: skip
    people = dict(zip(population.persons.column("id_number").to_pylist(),
                      population.persons.column("name").to_pylist(), strict=True))  # fmt: skip
    wages = tables[Source.SOCIAL_INSURANCE]
    ids = wages.column("id_number").to_pylist()
    assert any(i not in people for i in ids)  # people outside the population
    assert all(i.startswith(("5", "4", "6")) for i in ids)
    known = [(i, n) for i, n in zip(ids, wages.column("name").to_pylist(), strict=True) if i in people]
    assert any(people[i] != n for i, n in known)  # a typo somewhere
    declared = dict(zip(population.persons.column("id_number").to_pylist(),
                        population.persons.column("income_wage_fen").to_pylist(), strict=True))  # fmt: skip
    assert any(declared[i] == 0 for i, _ in known)  # an undeclared wage
    types = set(tables[Source.VEHICLES].column("vehicle_type").to_pylist())
    assert "残疾人专用车" in types
    assert tables[Source.DEATHS].num_rows and tables[Source.HOSPITALISATION].num_rows
    certificates = tables[Source.REAL_ESTATE].column("certificate_no")
    assert len(pc.unique(certificates)) < len(certificates)  # co-owned houses listed twice
    for source, table in tables.items():
        assert table.column_names == [c.name for c in SCHEMAS[source].columns]


@pytest.mark.django_db
def test_the_command_writes_and_loads_them(population, tmp_path):
    write_population(population, tmp_path / "pop")
    out = io.StringIO()
    call_command("verification", "synth-extracts", "--population", str(tmp_path / "pop"), "--out",
                 str(tmp_path / "ex"), "--records", "3000", "--load", stdout=out)  # fmt: skip
    assert Extract.objects.filter(status="loaded").count() == len(Source)
    assert "loaded" in out.getvalue()
