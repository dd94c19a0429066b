"""发现线索: the set-based sweep that finds people who are probably eligible and receive nothing.

Everything here is SQL in DuckDB over Arrow tables read from the registry (households, current members,
people, categories, enrolments, open and recent cases, COVID payment lines) and over the stored
department extracts (verification.extracts: Parquet files in the documented formats, matched on the
ID number's integer key). No Python runs per person; one row comes out per lead.

A lead's reasons are JSON: `[{"code": …, "data": {…}, "rows": [{"source", "extract_date", "row"}]}]`
— the code says which plain-words sentence the screens show (discovery.reasons), `data` the figures
in it, `rows` the extract rows behind it. The fingerprint hashes the kind, the subject and every
reason's data (not the row numbers: reloading the same facts in a new extract changes nothing), so a
dismissed lead returns only when the data behind it changes.

No Django import: services.py reads the tables and writes the leads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

# The kinds of lead, in the order the queue lists them.
KINDS = (
    "registered_poor",  # 建档立卡 not enrolled in dibao, 特困 or temporary assistance
    "income_drop",  # contributions stopped / business deregistered / unemployment registered
    "covid_patient",  # confirmed patient in a target group without R5
    "covid_bereaved",  # family of a COVID death without R6
    "child",  # orphan or 事实无人抚养儿童 without the children's allowance
    "tekun",  # 60+ or severely disabled, alone, no income (特困 candidate)
    "expenditure",  # large hospital costs against a low income (支出型 temporary assistance)
)
# The case types that answer each kind (an open one is linked instead of a new application).
ANSWERING_CASES: dict[str, tuple[str, ...]] = {
    "registered_poor": ("dibao", "tekun", "temporary"),
    "income_drop": ("dibao", "temporary"),
    "covid_patient": ("temporary", "case_by_case"),
    "covid_bereaved": ("temporary", "case_by_case"),
    "child": ("children",),
    "tekun": ("tekun", "dibao"),
    "expenditure": ("temporary", "case_by_case"),
}
PERSON_KINDS = frozenset({"covid_patient", "child", "tekun"})
# R5/R6 target groups (POLICY.md R5): categories, besides a dibao household.
TARGET_CATEGORIES = ("tekun", "orphan", "de_facto_unsupported_child", "hardship_child", "registered_poor")
LOOKBACK_DAYS = 365  # unemployment registrations, hospital stays and temporary assistance looked at

LEAD_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("household_id", pa.int64()),
        ("person_id", pa.int64()),
        ("region_id", pa.string()),
        ("reasons", pa.string()),
        ("fingerprint", pa.string()),
        ("estimate_fen", pa.int64()),
        ("threshold_fen", pa.int64()),
        ("open_case_id", pa.int64()),
    ]
)


@dataclass(frozen=True)
class Standards:
    """The parameters the sweep compares with, in fen (read as in force on the sweep's day)."""

    urban_fen: int
    rural_fen: int
    deposit_limit_months: int
    window_start: date


@dataclass(frozen=True)
class Extracts:
    """The stored extracts by source: [(extract date, path)] ascending."""

    files: dict[str, list[tuple[date, Path]]]

    def latest(self, source: str) -> list[tuple[date, Path]]:
        return self.files.get(source, [])[-1:]

    def previous(self, source: str) -> list[tuple[date, Path]]:
        return self.files.get(source, [])[-2:-1]

    def every(self, source: str) -> list[tuple[date, Path]]:
        return self.files.get(source, [])


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _rows_sql(chosen: list[tuple[date, Path]], source: str, columns: str, empty: str) -> str:
    """UNION ALL of the chosen files with their provenance (source, extract_date, _row), or `empty`."""
    if not chosen:
        return empty
    return " UNION ALL ".join(
        f"SELECT {columns}, {_q(source)} AS source, DATE {_q(d.isoformat())} AS extract_date, _row "
        f"FROM read_parquet({_q(str(p))})"
        for d, p in chosen
    )


def _empty(columns: str) -> str:
    return f"SELECT {columns}, NULL::VARCHAR AS source, NULL::DATE AS extract_date, NULL::BIGINT AS _row WHERE false"


def _row_json(alias: str) -> str:
    return (
        f"CASE WHEN {alias}._row IS NULL THEN '[]' ELSE to_json([struct_pack(source := {alias}.source, "
        f"extract_date := {alias}.extract_date, row := {alias}._row)]) END"
    )


def _reason(code: str, data: str, rows: str = "'[]'") -> str:
    """One reason as JSON text: code, data (a struct_pack(...) expression) and rows (JSON text)."""
    return f"""'{{"code":"{code}","data":' || to_json({data}) || ',"rows":' || {rows} || '}}'"""


def run(
    con: duckdb.DuckDBPyConnection,
    *,
    tables: dict[str, pa.Table],
    extracts: Extracts,
    standards: Standards,
    day: date,
) -> pa.Table:
    """The leads of the sweep on `day` (LEAD_SCHEMA), from the registry tables (see dataio in
    services.py: hh, mem, per, cat, enr, cases, paid) and the extracts."""
    for name, table in tables.items():
        con.register(name, table)
    d = f"DATE {_q(day.isoformat())}"
    since = f"DATE {_q((day - timedelta(days=LOOKBACK_DAYS)).isoformat())}"
    _facts(con, extracts, d, since)
    _people(con, d, since, standards)
    parts = [
        _registered_poor(),
        _income_drop(standards),
        _covid(standards),
        _child(),
        _tekun(),
        _expenditure(),
    ]
    con.execute("CREATE OR REPLACE TEMP TABLE found AS " + " UNION ALL ".join(f"({p})" for p in parts))
    # An open case that answers the kind, for the household (or the person of a person-level lead).
    answering = " UNION ALL ".join(
        f"SELECT {_q(k)} AS kind, unnest([{', '.join(_q(t) for t in types)}]) AS case_type"
        for k, types in ANSWERING_CASES.items()
    )
    return (
        con.sql(
            f"""
        WITH answering AS ({answering}),
        linked AS (
            SELECT f.kind, f.household_id, f.person_id, min(c.case_id) AS case_id
            FROM found f JOIN answering a ON a.kind = f.kind
            JOIN cases c ON c.is_open = 1 AND c.case_type = a.case_type
                AND (c.household_id = f.household_id OR (f.person_id IS NOT NULL AND c.applicant_id = f.person_id))
            GROUP BY ALL
        )
        SELECT f.kind, f.household_id, f.person_id, h.region_id, f.reasons,
               md5(f.kind || ':' || f.household_id || ':' || coalesce(f.person_id, 0) || ':' ||
                   regexp_replace(f.reasons, '"rows":\\[[^\\]]*\\]', '', 'g')) AS fingerprint,
               f.estimate_fen, f.threshold_fen, l.case_id AS open_case_id
        FROM found f JOIN hh h USING (household_id)
        LEFT JOIN linked l ON l.kind = f.kind AND l.household_id = f.household_id
            AND l.person_id IS NOT DISTINCT FROM f.person_id
        ORDER BY f.kind, f.household_id, f.person_id
        """
        )
        .to_arrow_table()
        .cast(LEAD_SCHEMA)
    )


def _facts(con: duckdb.DuckDBPyConnection, ex: Extracts, d: str, since: str) -> None:
    """Per-ID facts from the extracts, each with the row it comes from."""
    si_cols = "id_key, employer, monthly_wage_fen"
    si_empty = _empty("NULL::BIGINT AS id_key, NULL::VARCHAR AS employer, NULL::BIGINT AS monthly_wage_fen")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE si_cur AS {_rows_sql(ex.latest('social_insurance'), 'social_insurance', si_cols, si_empty)}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE si_prev AS {_rows_sql(ex.previous('social_insurance'), 'social_insurance', si_cols, si_empty)}"
    )
    # Contributions stopped: known to 人社 in the previous extract, at no employer in the latest.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE si_stop AS SELECT id_key, arg_min(employer, _row) AS employer, "
        "sum(monthly_wage_fen) AS wage_fen, arg_min(source, _row) AS source, arg_min(extract_date, _row) AS extract_date, "
        "min(_row) AS _row FROM si_prev p WHERE NOT EXISTS (SELECT 1 FROM si_cur c WHERE c.id_key = p.id_key) "
        "GROUP BY id_key"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE si_now AS SELECT id_key, sum(monthly_wage_fen) AS wage_fen FROM si_cur GROUP BY id_key"
    )
    b_cols = "id_key, credit_code, business_name, status"
    b_empty = _empty(
        "NULL::BIGINT AS id_key, NULL::VARCHAR AS credit_code, NULL::VARCHAR AS business_name, NULL::VARCHAR AS status"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE biz_cur AS {_rows_sql(ex.latest('business'), 'business', b_cols, b_empty)}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE biz_prev AS {_rows_sql(ex.previous('business'), 'business', b_cols, b_empty)}"
    )
    # Deregistered: 存续 in the previous extract, 注销 in the latest (the same registration).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE biz_stop AS SELECT c.id_key, arg_min(c.business_name, c._row) AS business_name, "
        "arg_min(c.credit_code, c._row) AS credit_code, arg_min(c.source, c._row) AS source, "
        "arg_min(c.extract_date, c._row) AS extract_date, min(c._row) AS _row "
        "FROM biz_cur c JOIN biz_prev p ON p.id_key = c.id_key AND p.credit_code = c.credit_code "
        "WHERE c.status = 'cancelled' AND p.status = 'active' GROUP BY c.id_key"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE biz_active AS SELECT DISTINCT id_key FROM biz_cur WHERE status = 'active'"
    )
    t_empty = _empty("NULL::BIGINT AS id_key, NULL::BIGINT AS monthly_income_fen")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE tax_now AS SELECT id_key, sum(monthly_income_fen) AS income_fen FROM ("
        f"{_rows_sql(ex.latest('tax'), 'tax', 'id_key, monthly_income_fen', t_empty)}) GROUP BY id_key"
    )
    u_empty = _empty(
        "NULL::BIGINT AS id_key, NULL::DATE AS registered_on, NULL::DATE AS ended_on, NULL::BIGINT AS benefit_fen"
    )
    u_sql = _rows_sql(
        ex.latest("unemployment"), "unemployment", "id_key, registered_on, ended_on, benefit_fen", u_empty
    )
    # Registered unemployed now, registered within the look-back.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE unemp AS SELECT id_key, max(registered_on) AS registered_on, "
        "sum(coalesce(benefit_fen, 0)) AS benefit_fen, arg_max(source, registered_on) AS source, "
        "arg_max(extract_date, registered_on) AS extract_date, arg_max(_row, registered_on) AS _row "
        f"FROM ({u_sql}) WHERE registered_on <= {d} AND registered_on > {since} "
        f"AND (ended_on IS NULL OR ended_on > {d}) GROUP BY id_key"
    )
    dth_empty = _empty("NULL::BIGINT AS id_key, NULL::DATE AS died_on")
    deaths = _rows_sql(ex.every("deaths"), "deaths", "id_key, died_on", dth_empty)
    hr_death = (
        " UNION ALL ".join(
            f"SELECT id_key, changed_on AS died_on, 'household_registration' AS source, "
            f"DATE {_q(dt.isoformat())} AS extract_date, _row FROM read_parquet({_q(str(p))}) WHERE change = 'death'"
            for dt, p in ex.every("household_registration")
        )
        or dth_empty
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE dead AS SELECT id_key, min(died_on) AS died_on, arg_min(source, died_on) AS source, "
        "arg_min(extract_date, died_on) AS extract_date, arg_min(_row, died_on) AS _row "
        f"FROM ({deaths} UNION ALL {hr_death}) WHERE died_on <= {d} GROUP BY id_key"
    )
    h_empty = _empty("NULL::BIGINT AS id_key, NULL::DATE AS admitted_on, NULL::BIGINT AS out_of_pocket_fen")
    stays = _rows_sql(
        ex.every("hospitalisation"), "hospitalisation", "id_key, admitted_on, out_of_pocket_fen", h_empty
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hosp AS SELECT id_key, sum(coalesce(out_of_pocket_fen, 0)) AS cost_fen, "
        "count(*) AS stays, to_json(list(struct_pack(source := source, extract_date := extract_date, row := _row) "
        f"ORDER BY admitted_on)) AS rows FROM ({stays}) WHERE admitted_on <= {d} AND admitted_on > {since} GROUP BY id_key"
    )


def _people(con: duckdb.DuckDBPyConnection, d: str, since: str, st: Standards) -> None:
    """Current members with their categories, receipts and facts; households with their totals."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE pc AS SELECT person_id, "
        "bool_or(category = 'registered_poor') AS poor, min(valid_from) FILTER (category = 'registered_poor') AS poor_since, "
        "bool_or(category = 'tekun') AS tekun, bool_or(category = 'orphan') AS orphan, "
        "bool_or(category = 'de_facto_unsupported_child') AS defacto, bool_or(category = 'hardship_child') AS hardship, "
        "bool_or(category = 'severe_disability') AS disabled, bool_or(category = 'severe_illness') AS ill "
        "FROM cat GROUP BY person_id"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hh_dibao AS SELECT household_id FROM hh WHERE dibao_enrolled = 1 "
        "UNION SELECT household_id FROM enr WHERE scheme = 'dibao'"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE temp_recent AS SELECT DISTINCT household_id FROM cases "
        f"WHERE case_type IN ('temporary', 'case_by_case', 'first_aid') AND household_id IS NOT NULL AND filed_on > {since}"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE people AS
        SELECT m.household_id, m.person_id, m.relation, p.id_key, p.birth_date,
               date_sub('year', p.birth_date, {d}) AS age,
               p.income_wage_fen AS wage, p.income_business_fen AS business, p.income_agricultural_fen AS agri,
               p.income_property_fen AS prop, p.income_transfer_fen AS transfer,
               p.income_wage_fen + p.income_business_fen + p.income_agricultural_fen + p.income_property_fen
                   + p.income_transfer_fen AS declared,
               p.covid_confirmed_on, p.covid_died_on,
               coalesce(c.poor, false) AS poor, c.poor_since, coalesce(c.tekun, false) AS tekun,
               coalesce(c.orphan, false) AS orphan, coalesce(c.defacto, false) AS defacto,
               coalesce(c.hardship, false) AS hardship, coalesce(c.disabled, false) AS disabled,
               coalesce(c.ill, false) AS ill,
               (dd.id_key IS NOT NULL OR (p.covid_died_on IS NOT NULL AND p.covid_died_on <= {d})) AS dead,
               coalesce(dd.died_on, p.covid_died_on) AS died_on, dd.source AS d_source,
               dd.extract_date AS d_extract_date, dd._row AS d_row,
               coalesce(e.tekun_enrolled, false) AS tekun_enrolled,
               coalesce(e.child_enrolled, false) AS child_enrolled
        FROM mem m JOIN per p USING (person_id)
        LEFT JOIN pc c USING (person_id)
        LEFT JOIN (SELECT person_id, bool_or(scheme = 'tekun') AS tekun_enrolled,
                          bool_or(scheme = 'children') AS child_enrolled
                   FROM enr WHERE person_id IS NOT NULL GROUP BY person_id) e USING (person_id)
        LEFT JOIN dead dd ON dd.id_key = p.id_key
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE hx AS
        SELECT h.household_id, h.area_type, h.deposits_fen,
               CASE h.area_type WHEN 'urban' THEN {st.urban_fen} ELSE {st.rural_fen} END AS standard_fen,
               count(p.person_id) FILTER (NOT p.dead) AS alive,
               count(p.person_id) FILTER (NOT p.dead AND NOT p.tekun) AS unit_size,
               coalesce(sum(p.declared) FILTER (NOT p.dead AND NOT p.tekun), 0) AS declared_fen,
               d.household_id IS NOT NULL AS dibao,
               t.household_id IS NOT NULL AS temp_recent
        FROM hh h JOIN people p USING (household_id)
        LEFT JOIN hh_dibao d USING (household_id) LEFT JOIN temp_recent t USING (household_id)
        GROUP BY ALL
        """
    )


def _registered_poor() -> str:
    reason = _reason(
        "registered_poor",
        "struct_pack(person_id := p.person_id, since := p.poor_since)",
    )
    none = _reason("receives_nothing", "struct_pack(schemes := ['dibao', 'tekun', 'temporary'])")
    return f"""
        SELECT 'registered_poor' AS kind, p.household_id, NULL::BIGINT AS person_id,
               '[' || string_agg({reason}, ',' ORDER BY p.person_id) || ',' || {none} || ']' AS reasons,
               NULL::BIGINT AS estimate_fen, NULL::BIGINT AS threshold_fen
        FROM people p JOIN hx USING (household_id)
        WHERE p.poor AND NOT p.dead AND NOT p.tekun_enrolled AND NOT hx.dibao AND NOT hx.temp_recent
        GROUP BY p.household_id
    """


def _income_drop(st: Standards) -> str:
    stop = _reason(
        "contributions_stopped",
        "struct_pack(person_id := p.person_id, employer := s.employer, wage_fen := s.wage_fen)",
        _row_json("s"),
    )
    biz = _reason(
        "business_deregistered",
        "struct_pack(person_id := p.person_id, business := b.business_name, credit_code := b.credit_code, "
        "business_fen := p.business)",
        _row_json("b"),
    )
    unemployed = _reason(
        "unemployment_registered",
        "struct_pack(person_id := p.person_id, registered_on := u.registered_on, benefit_fen := u.benefit_fen)",
        _row_json("u"),
    )
    estimate = _reason(
        "income_estimate",
        "struct_pack(declared_fen := e.declared_fen, estimate_fen := e.estimate_fen, "
        "standard_fen := e.standard_fen, size := e.unit_size, threshold_fen := e.threshold_fen)",
    )
    # Only the households with an event are estimated (a few in a thousand).
    return f"""
        WITH touched AS (
            SELECT DISTINCT p.household_id FROM people p
            WHERE p.id_key IN (SELECT id_key FROM si_stop UNION ALL SELECT id_key FROM biz_stop
                               UNION ALL SELECT id_key FROM unemp)
        ),
        m AS (
            SELECT p.*, s.id_key IS NOT NULL AS stopped, b.id_key IS NOT NULL AS deregistered,
                   u.id_key IS NOT NULL AS unemployed, n.wage_fen AS wage_now, a.id_key IS NOT NULL AS active_biz,
                   coalesce(u.benefit_fen, 0) AS benefit_fen,
                   CASE WHEN s.id_key IS NOT NULL THEN {stop} END AS r_stop,
                   CASE WHEN b.id_key IS NOT NULL THEN {biz} END AS r_biz,
                   CASE WHEN u.id_key IS NOT NULL THEN {unemployed} END AS r_unemp
            FROM people p JOIN touched USING (household_id)
            LEFT JOIN si_stop s USING (id_key) LEFT JOIN biz_stop b USING (id_key) LEFT JOIN unemp u USING (id_key)
            LEFT JOIN si_now n USING (id_key) LEFT JOIN biz_active a USING (id_key)
            WHERE NOT p.dead
        ),
        e AS (
            SELECT m.household_id, hx.declared_fen, hx.unit_size, hx.standard_fen,
                   hx.standard_fen * hx.unit_size AS threshold_fen,
                   sum(CASE WHEN m.tekun THEN 0 ELSE
                       CASE WHEN m.wage_now IS NOT NULL THEN m.wage_now
                            WHEN m.stopped OR m.unemployed THEN 0 ELSE m.wage END
                       + CASE WHEN m.deregistered AND NOT m.active_biz THEN 0 ELSE m.business END
                       + m.agri + m.prop + m.transfer + m.benefit_fen END) AS estimate_fen,
                   string_agg(concat_ws(',', m.r_stop, m.r_biz, m.r_unemp), ',' ORDER BY m.person_id)
                       FILTER (m.stopped OR m.deregistered OR m.unemployed) AS events
            FROM m JOIN hx USING (household_id)
            WHERE NOT hx.dibao AND hx.unit_size > 0
                AND hx.deposits_fen <= {st.deposit_limit_months} * hx.standard_fen * hx.unit_size
            GROUP BY ALL
        )
        SELECT 'income_drop' AS kind, e.household_id, NULL::BIGINT AS person_id,
               '[' || e.events || ',' || {estimate} || ']' AS reasons, e.estimate_fen, e.threshold_fen
        FROM e WHERE e.events IS NOT NULL AND e.estimate_fen < e.threshold_fen
    """


def _target_sql(alias: str = "p") -> str:
    return (
        f"list_filter([CASE WHEN hx.dibao THEN 'dibao' END, CASE WHEN {alias}.tekun THEN 'tekun' END, "
        f"CASE WHEN {alias}.orphan THEN 'orphan' END, CASE WHEN {alias}.defacto THEN 'de_facto_unsupported_child' END, "
        f"CASE WHEN {alias}.hardship THEN 'hardship_child' END, CASE WHEN {alias}.poor THEN 'registered_poor' END], "
        "lambda x: x IS NOT NULL)"
    )


def _covid(st: Standards) -> str:
    start = f"DATE {_q(st.window_start.isoformat())}"
    confirmed = _reason(
        "covid_confirmed",
        f"struct_pack(person_id := p.person_id, confirmed_on := p.covid_confirmed_on, groups := {_target_sql()})",
    )
    no_r5 = _reason("no_covid_assistance", "struct_pack(person_id := p.person_id)")
    died = _reason(
        "covid_died",
        f"struct_pack(person_id := p.person_id, died_on := p.covid_died_on, groups := {_target_sql()})",
    )
    no_r6 = _reason("no_bereavement", "struct_pack(household_id := p.household_id)")
    base = (
        f"FROM people p JOIN hx USING (household_id) WHERE p.covid_confirmed_on >= {start} "
        f"AND len({_target_sql()}) > 0"
    )
    return f"""
        SELECT 'covid_patient' AS kind, p.household_id, p.person_id,
               '[' || {confirmed} || ',' || {no_r5} || ']' AS reasons, NULL::BIGINT, NULL::BIGINT
        {base} AND NOT EXISTS (SELECT 1 FROM paid x WHERE x.scheme = 'covid' AND x.beneficiary_id = p.person_id)
        UNION ALL
        SELECT 'covid_bereaved' AS kind, p.household_id, NULL::BIGINT,
               '[' || string_agg({died}, ',' ORDER BY p.person_id) || ',' || {no_r6} || ']', NULL::BIGINT, NULL::BIGINT
        {base} AND p.covid_died_on IS NOT NULL AND hx.alive > 0
            AND NOT EXISTS (SELECT 1 FROM paid x WHERE x.scheme = 'bereavement' AND x.beneficiary_id = p.household_id)
        GROUP BY p.household_id
    """


def _child() -> str:
    category = _reason(
        "child_category",
        "struct_pack(person_id := c.person_id, category := CASE WHEN c.orphan THEN 'orphan' ELSE 'de_facto_unsupported_child' END)",
    )
    parent = _reason(
        "parent_status",
        "struct_pack(person_id := q.person_id, relation := q.relation, died_on := q.died_on, "
        "disabled := q.disabled, ill := q.ill)",
        "CASE WHEN q.d_row IS NULL THEN '[]' ELSE to_json([struct_pack(source := q.d_source, "
        "extract_date := q.d_extract_date, row := q.d_row)]) END",
    )
    no_allowance = _reason("no_child_allowance", "struct_pack(person_id := c.person_id, age := c.age)")
    # The parents' reasons (JSON per parent) only for the households of the children found: made for
    # every household they were most of the sweep's time.
    return f"""
        WITH parents AS (
            SELECT q.household_id, count(*) AS n, count(*) FILTER (q.dead) AS dead,
                   count(*) FILTER (q.dead OR q.disabled OR q.ill) AS unable
            FROM people q WHERE q.relation IN ('head', 'spouse') GROUP BY q.household_id
        ),
        c AS (
            SELECT c.*, coalesce(q.unable = q.n AND (q.dead > 0 OR q.n = 2), false) AS parents_unable
            FROM people c LEFT JOIN parents q ON q.household_id = c.household_id AND c.relation = 'child'
            WHERE c.age < 18 AND NOT c.dead AND NOT c.child_enrolled
                AND (c.orphan OR c.defacto OR (q.n > 0 AND q.unable = q.n AND (q.dead > 0 OR q.n = 2)))
        ),
        pr AS (
            SELECT q.household_id, string_agg({parent}, ',' ORDER BY q.person_id) AS reasons
            FROM people q
            WHERE q.relation IN ('head', 'spouse')
                AND q.household_id IN (SELECT household_id FROM c WHERE parents_unable)
            GROUP BY q.household_id
        )
        SELECT 'child' AS kind, c.household_id, c.person_id,
               '[' || concat_ws(',', CASE WHEN c.orphan OR c.defacto THEN {category} END,
                                CASE WHEN c.parents_unable THEN pr.reasons END)
                   || ',' || {no_allowance} || ']',
               NULL::BIGINT, NULL::BIGINT
        FROM c LEFT JOIN pr ON pr.household_id = c.household_id AND c.parents_unable
    """


def _tekun() -> str:
    who = _reason(
        "alone_old_or_disabled",
        "struct_pack(person_id := p.person_id, age := p.age, disabled := p.disabled)",
    )
    nothing = _reason("no_income_no_supporter", "struct_pack(person_id := p.person_id)")
    return f"""
        SELECT 'tekun' AS kind, p.household_id, p.person_id, '[' || {who} || ',' || {nothing} || ']',
               NULL::BIGINT, NULL::BIGINT
        FROM people p JOIN hx USING (household_id)
        WHERE NOT p.dead AND (p.age >= 60 OR p.disabled) AND hx.alive = 1 AND p.declared = 0
            AND NOT p.tekun_enrolled AND NOT hx.dibao
            AND NOT EXISTS (SELECT 1 FROM si_now s WHERE s.id_key = p.id_key)
            AND NOT EXISTS (SELECT 1 FROM biz_active a WHERE a.id_key = p.id_key)
            AND NOT EXISTS (SELECT 1 FROM tax_now t WHERE t.id_key = p.id_key)
    """


def _expenditure() -> str:
    stays = _reason(
        "hospital_costs",
        "struct_pack(person_id := p.person_id, cost_fen := h.cost_fen, stays := h.stays)",
        "h.rows",
    )
    estimate = _reason(
        "costs_against_income",
        "struct_pack(annual_income_fen := 12 * x.declared_fen, cost_fen := x.cost_fen, "
        "annual_standard_fen := 12 * x.standard_fen * x.alive)",
    )
    return f"""
        WITH x AS (
            SELECT p.household_id, hx.alive, hx.standard_fen,
                   coalesce(sum(p.declared) FILTER (NOT p.dead), 0) AS declared_fen,
                   sum(h.cost_fen) AS cost_fen, string_agg({stays}, ',' ORDER BY p.person_id) AS reasons
            FROM people p JOIN hosp h USING (id_key) JOIN hx USING (household_id)
            WHERE NOT hx.dibao AND NOT hx.temp_recent AND hx.alive > 0
            GROUP BY ALL
        )
        SELECT 'expenditure' AS kind, x.household_id, NULL::BIGINT,
               '[' || x.reasons || ',' || {estimate} || ']',
               12 * x.declared_fen - x.cost_fen, 12 * x.standard_fen * x.alive
        FROM x
        WHERE x.cost_fen >= x.standard_fen * x.alive
            AND 12 * x.declared_fen - x.cost_fen < 12 * x.standard_fen * x.alive
    """
