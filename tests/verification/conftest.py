"""Verification fixtures: officers, households with members, department extracts written as files."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from pathlib import Path

import pytest
from stdnum.cn import ric

from doudi.verification.sources import SCHEMAS, Source

_serial = itertools.count(1)


def id_number(birth: str = "19800101", place: str = "500101") -> str:
    """A valid resident ID, different on every call."""
    body = f"{place}{birth}{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DOUDI_DATA_DIR = tmp_path / "data"
    return settings.DOUDI_DATA_DIR


@pytest.fixture
def city_admin(regions, make_user):
    return make_user("ver_city_admin", regions.city, "municipal_admin")


@pytest.fixture
def township_a(regions, make_user):
    return make_user("ver_township_a", regions.a_t, "township_officer")


@pytest.fixture
def township_b(regions, make_user):
    return make_user("ver_township_b", regions.b_t, "township_officer")


@pytest.fixture
def make_household(regions):
    """make_household(members=[{name, income_wage_fen…}], village=…, enrolled=True, last_amount=…)"""
    from doudi.registry.models import Household, Membership, Person

    def make(members, *, village=None, area_type="urban", enrolled=True, last_amount=500, deposits_fen=0,
             vehicles=0, houses=0):  # fmt: skip
        village = village or regions.a_v
        household = Household.objects.create(
            region=village, area_type=area_type, dibao_enrolled=enrolled,
            dibao_last_amount=last_amount if enrolled else None, deposits_fen=deposits_fen,
            vehicles=vehicles, houses=houses,
        )  # fmt: skip
        for i, m in enumerate(members):
            m = dict(m)
            birth = m.pop("birth_date", dt.date(1980, 1, 1) if i == 0 else dt.date(1982, 5, 5))
            person = Person.objects.create(
                id_number=m.pop("id_number", None) or id_number(birth.strftime("%Y%m%d")),
                name=m.pop("name", f"成员{i}"), birth_date=birth, sex="M", region=village, **m,
            )  # fmt: skip
            Membership.objects.create(household=household, person=person, relation="head" if i == 0 else "spouse",
                                      joined_on=dt.date(2015, 1, 1))  # fmt: skip
            if i == 0:
                household.head = person
                household.save(update_fields=["head"])
        return household

    return make


@pytest.fixture
def write_extract(tmp_path):
    """write_extract(source, rows, fmt="csv", headers="label") -> Path; rows are dicts by column name."""

    def write(
        source: str, rows: list[dict], *, fmt: str = "csv", headers: str = "label", name: str = ""
    ) -> Path:
        schema = SCHEMAS[Source(source)]
        names = [c.name for c in schema.columns]
        titles = [c.label if headers == "label" else c.name for c in schema.columns]
        path = tmp_path / (name or f"{source}-{next(_serial)}.{fmt}")
        if fmt == "csv":
            with open(path, "w", newline="", encoding="utf-8") as f:
                w = csv.writer(f)
                w.writerow(titles)
                for r in rows:
                    w.writerow([r.get(n, "") for n in names])
        elif fmt == "xlsx":
            from openpyxl import Workbook

            wb = Workbook()
            ws = wb.active
            ws.append(titles)
            for r in rows:
                ws.append([r.get(n, "") for n in names])
            wb.save(path)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(
                pa.table({t: [str(r.get(n, "")) for r in rows] for n, t in zip(names, titles, strict=True)}),
                path,
            )
        return path

    return write


@pytest.fixture
def load(write_extract):
    """load(source, rows, date) -> Extract, through the service (as the system)."""
    from doudi.verification.services import load_extract

    def do(source: str, rows: list[dict], extract_date=dt.date(2020, 3, 31), **kw):
        path = write_extract(source, rows, **kw)
        return load_extract(source=source, extract_date=extract_date, path=path, file_name=Path(path).name)

    return do


@pytest.fixture
def consent(regions):
    from doudi.verification.models import Consent

    def give(household, officer, signed_on=dt.date(2020, 1, 10)):
        from django.utils import timezone

        return Consent.objects.create(household=household, signed_on=signed_on, signatories="户主",
                                      recorded_by=officer, recorded_at=timezone.now())  # fmt: skip

    return give
