"""Department extracts: validated whole, loaded whole (versioned by date) or refused whole with a row report."""

import datetime as dt

import duckdb
import pyarrow.parquet as pq
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from doudi.verification.extracts import extract_path, id_checksum_sql
from doudi.verification.models import Extract, ExtractStatus
from doudi.verification.services import load_extract

from .conftest import id_number

DATE = dt.date(2020, 3, 31)


def wage_rows():
    a, b = id_number(), id_number("19900202")
    return [
        {
            "id_number": a,
            "name": "张三",
            "employer": "甲公司",
            "insured_since": "2019-01-05",
            "monthly_wage": "3,000.50",
        },
        {
            "id_number": b.lower(),
            "name": "李四",
            "employer": "乙公司",
            "insured_since": "",
            "monthly_wage": "1200",
        },
    ]


def stored(source, day=DATE):
    from django.conf import settings as dj

    return extract_path(dj.DOUDI_DATA_DIR, source, day)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_a_clean_extract_is_loaded_whole_sorted_and_in_fen(load, fmt):
    rows = wage_rows()
    extract = load("social_insurance", rows, fmt=fmt)
    assert extract.status == ExtractStatus.LOADED, extract.problems
    assert (extract.rows, extract.error_count, len(extract.sha256)) == (2, 0, 64)
    table = pq.read_table(stored("social_insurance")).to_pylist()
    assert [r["id_number"] for r in table] == sorted(r["id_number"].upper() for r in rows)
    by_row = {r["_row"]: r for r in table}
    assert by_row[1]["monthly_wage_fen"] == 300050 and by_row[1]["insured_since"] == dt.date(2019, 1, 5)
    assert by_row[2]["monthly_wage_fen"] == 120000 and by_row[2]["insured_since"] is None
    assert by_row[2]["id_number"] == rows[1]["id_number"].upper()


@pytest.mark.django_db
def test_english_headers_chinese_choice_labels_and_gb18030_are_read(write_extract):
    rows = [{"id_number": id_number(), "name": "王五", "plate_no": "渝A00001", "vehicle_type": "残疾人专用车",
             "registered_on": "2019/05/06"}]  # fmt: skip
    path = write_extract("vehicles", rows, headers="name")
    path.write_bytes(path.read_text(encoding="utf-8").encode("gb18030"))
    extract = load_extract(source="vehicles", extract_date=DATE, path=path, file_name=path.name)
    assert extract.status == ExtractStatus.LOADED, extract.problems
    row = pq.read_table(stored("vehicles")).to_pylist()[0]
    assert (row["name"], row["vehicle_type"], row["registered_on"]) == (
        "王五",
        "disability",
        dt.date(2019, 5, 6),
    )


BAD = {
    "missing column": (
        lambda rows: [{k: v for k, v in r.items() if k != "employer"} for r in rows],
        "missing_column",
        None,
    ),
    "invalid ID": (
        lambda rows: [rows[0], {**rows[1], "id_number": rows[1]["id_number"][:-1] + "0"}],
        "invalid_id",
        2,
    ),
    "unparseable amount": (lambda rows: [rows[0], {**rows[1], "monthly_wage": "1.200,5"}], "bad_amount", 2),
    "negative amount": (lambda rows: [{**rows[0], "monthly_wage": "-5"}, rows[1]], "bad_amount", 1),
    "bad date": (lambda rows: [rows[0], {**rows[1], "insured_since": "2019-02-30"}], "bad_date", 2),
    "duplicate key": (lambda rows: [*rows, {**rows[0], "monthly_wage": "1"}], "duplicate_key", 3),
    "empty required value": (lambda rows: [rows[0], {**rows[1], "employer": " "}], "missing_value", 2),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_extract_is_refused_and_nothing_of_it_is_loaded(write_extract, case):
    change, code, row = BAD[case]
    rows = change(wage_rows())
    path = write_extract("social_insurance", rows, headers="name")
    if case == "missing column":  # the writer always writes every header: drop the column for real
        text = path.read_text(encoding="utf-8").splitlines()
        path.write_text(
            "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != 2) for line in text)
        )
    extract = load_extract(source="social_insurance", extract_date=DATE, path=path, file_name=path.name)
    assert extract.status == ExtractStatus.REFUSED
    assert extract.error_count >= 1
    assert [(p["code"], p["row"]) for p in extract.problems if p["code"] == code][0] == (code, row)
    if code == "duplicate_key":
        assert extract.problems[0]["other_rows"] == [1]
    assert not stored("social_insurance").exists()
    assert not Extract.objects.filter(status=ExtractStatus.LOADED).exists()
    assert (
        not list(stored("social_insurance").parent.glob("*"))
        if stored("social_insurance").parent.exists()
        else True
    )


@pytest.mark.django_db
def test_one_bad_row_among_many_refuses_the_whole_file(load):
    rows = [{"id_number": id_number(), "name": f"人{i}", "died_on": "2020-02-01"} for i in range(500)]
    rows[321]["died_on"] = "二〇二〇年"
    extract = load("deaths", rows)
    assert extract.status == ExtractStatus.REFUSED
    assert [(p["code"], p["row"], p["value"]) for p in extract.problems] == [("bad_date", 322, "二〇二〇年")]
    assert not stored("deaths").exists()


@pytest.mark.django_db
def test_a_loaded_extract_date_cannot_be_loaded_again(load):
    assert (
        load("deaths", [{"id_number": id_number(), "name": "甲", "died_on": "2020-02-01"}]).status == "loaded"
    )
    with pytest.raises(ValidationError) as exc:
        load("deaths", [{"id_number": id_number(), "name": "乙", "died_on": "2020-02-01"}])
    assert "extract_date" in exc.value.message_dict
    assert load("deaths", [{"id_number": id_number(), "name": "乙", "died_on": "2020-02-01"}],
                extract_date=dt.date(2020, 4, 30)).status == "loaded"  # fmt: skip


@pytest.mark.django_db
def test_only_the_bureau_or_a_district_officer_loads_extracts(write_extract, township_a, city_admin):
    from django.core.exceptions import PermissionDenied

    path = write_extract("deaths", [{"id_number": id_number(), "name": "甲", "died_on": "2020-02-01"}])
    with pytest.raises(PermissionDenied):
        load_extract(source="deaths", extract_date=DATE, path=path, file_name=path.name, officer=township_a)
    extract = load_extract(
        source="deaths", extract_date=DATE, path=path, file_name=path.name, officer=city_admin
    )
    assert extract.loaded_by == city_admin


_body = st.text(alphabet="0123456789", min_size=17, max_size=17)
_plausible = st.builds(
    lambda province, born, seq: f"{province}0101{born:%Y%m%d}{seq:03d}",
    st.sampled_from(["11", "50", "51", "81", "00", "99"]),
    st.dates(dt.date(1880, 1, 1), dt.date(2030, 12, 31)),
    st.integers(0, 999),
)


def _reference(number: str) -> bool:
    """registry.identity's verdict, minus "born after today" (an extract may be checked any day)."""
    from django.core.exceptions import ValidationError as Invalid

    from doudi.registry.identity import parse

    try:
        parse(number, today=dt.date(9999, 12, 31))
    except Invalid:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.one_of(_body, _plausible).map(lambda b: b + ric.calc_check_digit(b + "0")),
        st.text(alphabet="0123456789X", min_size=18, max_size=18),
    )
)
def test_the_sql_id_check_agrees_with_the_registrys_identity_rules(number):
    sql = (
        f"SELECT {id_checksum_sql('x', 'h', 'l')} FROM (SELECT x, TRY_CAST(substr(x, 1, 9) AS BIGINT) h, "
        "TRY_CAST(substr(x, 10, 8) AS BIGINT) l FROM (SELECT ? AS x))"
    )
    assert duckdb.execute(sql, [number]).fetchone()[0] is _reference(number)


@pytest.mark.django_db
def test_an_optional_column_may_be_left_out_and_bad_values_are_quoted_from_the_file(write_extract, tmp_path):
    path = tmp_path / "deaths.csv"
    path.write_text(
        f"身份证号,姓名,死亡日期\n{id_number()},甲,2020-02-01\n{id_number()},乙,2020-02-30\n",
        encoding="utf-8",
    )
    extract = load_extract(source="deaths", extract_date=DATE, path=path, file_name=path.name)
    assert [(p["code"], p["column"], p["row"], p["value"]) for p in extract.problems] == [
        ("bad_date", "died_on", 2, "2020-02-30")
    ]
    path.write_text(f"身份证号,姓名,死亡日期\n{id_number()},甲,2020-02-01\n", encoding="utf-8")
    assert load_extract(source="deaths", extract_date=DATE, path=path, file_name=path.name).status == "loaded"
    assert pq.read_table(stored("deaths")).column("authority").to_pylist() == [None]


@pytest.mark.django_db
def test_stored_id_keys_are_the_keys_members_are_matched_on(load):
    import pyarrow as pa

    from doudi.verification.matching import id_keys

    numbers = [id_number(), id_number("19900101")[:-1] + "X"]
    numbers = [n for n in numbers if ric.calc_check_digit(n) == n[-1]] + [id_number("20010203")]
    load("deaths", [{"id_number": n, "name": "甲", "died_on": "2020-02-01"} for n in numbers])
    table = pq.read_table(stored("deaths"))
    assert list(table.column("id_key").to_numpy()) == list(id_keys(table.column("id_number")))
    assert list(id_keys(pa.array(["bad", None]))) == [-1, -1]
