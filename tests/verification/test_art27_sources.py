"""条例第27条: the extract types for 户籍 changes, insurers, securities and unemployment registration load
through the same validation as every other source — whole or not at all."""

import datetime as dt

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from doudi.verification.extracts import extract_path
from doudi.verification.matching import RECHECK_SOURCES
from doudi.verification.models import Extract, ExtractStatus
from doudi.verification.services import load_extract
from doudi.verification.sources import SCHEMAS, Source

from .conftest import id_number

DATE = dt.date(2020, 3, 31)
NEW = (Source.HOUSEHOLD_REGISTRATION, Source.INSURANCE, Source.SECURITIES, Source.UNEMPLOYMENT)


def clean_rows(source: Source) -> list[dict]:
    a, b = id_number(), id_number("19700303")
    if source == Source.HOUSEHOLD_REGISTRATION:
        return [
            {
                "id_number": a,
                "name": "张三",
                "change": "死亡注销",
                "changed_on": "2020-02-20",
                "authority": "渝中分局",
            },
            {
                "id_number": b,
                "name": "李四",
                "change": "move_out",
                "changed_on": "20200301",
                "place": "四川省成都市",
            },
        ]
    if source == Source.INSURANCE:
        return [
            {"id_number": a, "name": "张三", "insurer": "甲保险", "policy_no": "P1", "product": "年金保险",
             "cash_value": "12,000.50", "annual_premium": "", "as_of": "2020-03-31"},
            {"id_number": b, "name": "李四", "insurer": "甲保险", "policy_no": "P2", "product": "health",
             "cash_value": "0", "annual_premium": "800", "as_of": "2020/03/31"},
        ]  # fmt: skip
    if source == Source.SECURITIES:
        return [
            {"id_number": a, "name": "张三", "broker": "甲证券", "account_no": "A1", "market_value": "50000",
             "as_of": "2020-03-31"},
            {"id_number": b, "name": "李四", "broker": "甲证券", "account_no": "A2", "market_value": "0.01",
             "as_of": "2020-03-31"},
        ]  # fmt: skip
    return [
        {"id_number": a, "name": "张三", "registered_on": "2020-02-10", "ended_on": "", "benefit": "1,350"},
        {
            "id_number": b,
            "name": "李四",
            "registered_on": "2019-11-01",
            "ended_on": "2020-01-31",
            "benefit": "",
        },
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
@pytest.mark.parametrize("source", NEW)
def test_each_new_source_loads_a_clean_file_with_codes_and_fen(load, source, fmt):
    extract = load(source.value, clean_rows(source), fmt=fmt)
    assert extract.status == ExtractStatus.LOADED, extract.problems
    rows = {r["_row"]: r for r in pq.read_table(extract_path_for(source)).to_pylist()}
    assert len(rows) == 2 and all(r["id_key"] for r in rows.values())
    first, second = rows[1], rows[2]
    if source == Source.HOUSEHOLD_REGISTRATION:
        assert (first["change"], second["change"]) == ("death", "move_out")
        assert second["changed_on"] == dt.date(2020, 3, 1) and first["place"] is None
    elif source == Source.INSURANCE:
        assert (first["product"], first["cash_value_fen"], first["annual_premium_fen"]) == (
            "annuity",
            1_200_050,
            None,
        )
        assert second["as_of"] == dt.date(2020, 3, 31)
    elif source == Source.SECURITIES:
        assert (first["market_value_fen"], second["market_value_fen"]) == (5_000_000, 1)
    else:
        assert (first["benefit_fen"], first["ended_on"]) == (135_000, None)
        assert second["ended_on"] == dt.date(2020, 1, 31)


def extract_path_for(source):
    from django.conf import settings

    return extract_path(settings.DOUDI_DATA_DIR, source.value, DATE)


BAD = {
    Source.HOUSEHOLD_REGISTRATION: ("change", "落户", "bad_choice"),
    Source.INSURANCE: ("cash_value", "-5", "bad_amount"),
    Source.SECURITIES: ("as_of", "2020-02-30", "bad_date"),
    Source.UNEMPLOYMENT: ("registered_on", "", "missing_value"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("source", NEW)
def test_one_bad_value_refuses_the_whole_file_and_names_row_and_column(load, source):
    rows = clean_rows(source) * 1
    column, value, code = BAD[source]
    rows[1] = rows[1] | {column: value}
    extract = load(source.value, rows)
    assert extract.status == ExtractStatus.REFUSED
    assert [(p["code"], p["column"], p["row"]) for p in extract.problems] == [(code, column, 2)]
    assert not extract_path_for(source).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("source", NEW)
def test_a_duplicate_key_refuses_the_file(load, source):
    first = clean_rows(source)[0]
    extract = load(source.value, [first, dict(first)])
    assert extract.status == ExtractStatus.REFUSED
    assert extract.problems[0]["code"] == "duplicate_key" and extract.problems[0]["other_rows"] == [1]


@pytest.mark.django_db
def test_invisible_characters_in_an_id_number_are_refused_not_matched(load):
    rows = clean_rows(Source.UNEMPLOYMENT)
    rows[0]["id_number"] = rows[0]["id_number"][:6] + "\u200b" + rows[0]["id_number"][6:]
    extract = load(Source.UNEMPLOYMENT.value, rows)
    assert extract.status == ExtractStatus.REFUSED and extract.problems[0]["code"] == "invalid_id"


@pytest.mark.django_db
@pytest.mark.parametrize("body_name", ["far_cell", "zip_bomb", "empty_sheet"])
def test_hostile_workbooks_are_refused_for_the_new_sources(tmp_path, body_name):
    from hostile_files import far_cell_workbook, rows_workbook, zip_bomb_workbook

    bodies = {
        "far_cell": far_cell_workbook(),
        "zip_bomb": zip_bomb_workbook(200),
        "empty_sheet": rows_workbook([[c.label for c in SCHEMAS[Source.SECURITIES].columns]]),
    }
    path = tmp_path / "securities.xlsx"
    path.write_bytes(bodies[body_name])
    extract = load_extract(source="securities", extract_date=DATE, path=path, file_name=path.name)
    assert extract.status == ExtractStatus.REFUSED and extract.problems
    assert not Extract.objects.filter(status="loaded").exists()


def test_the_new_sources_are_shown_in_reports_but_not_counted_by_the_recheck():
    assert not set(NEW) & set(RECHECK_SOURCES)
    for source in NEW:
        assert SCHEMAS[source].columns[0].name == "id_number"


def test_the_sources_command_lists_them(capsys):
    call_command("verification", "sources")
    out = capsys.readouterr().out
    for source in NEW:
        assert source.value in out
