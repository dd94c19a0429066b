"""补发差额, the property: after any sequence of standard changes for a paid month, what was paid per
(beneficiary, scheme, month) is the current entitlement whenever that is above what was paid before,
and it never falls. Runs the real freeze/compute on Parquet snapshots (no database)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.payments import arrears, payroll
from doudi.policy.parameters import StoredValue
from doudi.policy.periods import Period

M = Period.parse("2020-03")
VILLAGE, DISTRICT = "500101001001", "500101"
LABELS = {s: s for s in payroll.SCHEMES}

household = st.tuples(
    st.sampled_from(["urban", "rural"]),
    st.lists(st.integers(0, 2_000), min_size=1, max_size=4),  # wages in yuan, one per member
    st.integers(0, 1_500),  # enrolled dibao amount, yuan
)
change = st.tuples(
    st.sampled_from(["dibao.standard.urban", "dibao.standard.rural"]),
    st.integers(300, 1_200),
    st.sampled_from([dt.date(2020, 1, 1), dt.date(2020, 3, 1)]),
)


def tables(households):
    hh, members, enrolments, accounts = [], [], [], []
    pid = 1000
    for hid, (area, wages, enrolled) in enumerate(households, start=1):
        hh.append(
            {
                "household_id": hid,
                "region_id": VILLAGE,
                "area_type": area,
                "deposits_fen": 0,
                "vehicles": 0,
                "houses": 1,
                "head_id": pid + 1,
            }
        )
        enrolments.append(
            {"enrolment_id": hid, "scheme": "dibao", "household_id": hid, "person_id": 0, "amount": enrolled}
        )
        for wage in wages:
            pid += 1
            members.append(
                {
                    "household_id": hid,
                    "person_id": pid,
                    "birth_date": dt.date(1980, 1, 1),
                    "work": "none",
                    "orphan_care": None,
                    "covid_confirmed_on": None,
                    "covid_discharged_on": None,
                    "covid_died_on": None,
                    **{f"income_{k}_fen": 0 for k in payroll.COUNTED_INCOME},
                    "income_wage_fen": wage * 100,
                }
            )
            accounts.append(
                {
                    "person_id": pid,
                    "account_id": pid,
                    "bank_code": "ICBC",
                    "account_number": f"6222{pid:015d}",
                    "holder_name": "某",
                }
            )
    return {
        "enrolments": pa.Table.from_pylist(enrolments, schema=payroll.ENROLMENT_SCHEMA),
        "households": pa.Table.from_pylist(hh, schema=payroll._DB_HOUSEHOLD_SCHEMA),
        "members": pa.Table.from_pylist(members, schema=payroll._DB_MEMBER_SCHEMA),
        "categories": pa.table(
            {"person_id": pa.array([], pa.int64()), "category": pa.array([], pa.string())}
        ),
        "accounts": pa.Table.from_pylist(accounts, schema=payroll.ACCOUNT_SCHEMA),
        "previous": payroll.PREVIOUS_SCHEMA.empty_table(),
        "villages": pa.table({"code": [VILLAGE], "path": [f"500000/{DISTRICT}/500101001/{VILLAGE}/"]}),
    }


def params(records):
    return payroll.parameters_json(records, {DISTRICT: None})


def paid_table(lines: pa.Table) -> pa.Table:
    """What was paid per (beneficiary, scheme), as the service reads it from the lines."""
    grouped = lines.group_by(["beneficiary_id", "scheme"]).aggregate(
        [
            ("district", "min"),
            ("amount_fen", "sum"),
            ("household_id", "min"),
            ("person_id", "min"),
            ("region_id", "min"),
        ]
    )
    return pa.table(
        {
            "beneficiary_id": grouped["beneficiary_id"],
            "scheme": grouped["scheme"],
            "district": grouped["district_min"],
            "amount_fen": grouped["amount_fen_sum"],
            "household_id": grouped["household_id_min"],
            "person_id": grouped["person_id_min"],
            "region_id": grouped["region_id_min"],
        }
    ).cast(arrears.PAID_SCHEMA)


def amounts(table: pa.Table) -> dict[tuple[int, str], int]:
    out: dict[tuple[int, str], int] = {}
    for b, s, a in zip(
        table["beneficiary_id"].to_pylist(),
        table["scheme"].to_pylist(),
        table["amount_fen"].to_pylist(),
        strict=True,
    ):
        out[(b, s)] = out.get((b, s), 0) + a
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    households=st.lists(household, min_size=1, max_size=5), changes=st.lists(change, min_size=1, max_size=3)
)
def test_paid_is_the_entitlement_whenever_it_is_above_what_was_paid(tmp_path_factory, households, changes):
    root: Path = tmp_path_factory.mktemp("arrears")
    records: list[StoredValue] = []
    month_dir = root / "2020-03-r0"
    payroll.freeze(month_dir, tables(households), params(records))
    regular = payroll.compute(month_dir, M).lines
    all_lines = regular.select(
        ["beneficiary_id", "scheme", "district", "amount_fen", "household_id", "person_id", "region_id"]
    )
    last_parameters = month_dir / "parameters.json"
    for seq, (name, value, since) in enumerate(changes, start=1):
        records = [*records, StoredValue(name, None, since, value, "测试", True)]
        before = amounts(all_lines)
        owed = arrears.OwedMonth(
            month=M,
            source=month_dir,
            source_sha256=payroll.snapshot_sha256(month_dir),
            paid=paid_table(all_lines),
            paid_parameters=last_parameters,
            parameters=params(records),
        )
        directory = root / f"2020-06-r{seq}"
        frozen = arrears.freeze(
            directory, [owed], pa.Table.from_pylist([], schema=payroll.ACCOUNT_SCHEMA), {"seq": seq}
        )
        assert frozen.sha256 == arrears.snapshot_sha256(directory)
        result = arrears.compute(directory, seq, LABELS)
        # The entitlement now: the payroll's own computation under the new parameters.
        due = amounts(payroll.compute(directory / str(M), M).lines)
        top = amounts(result.lines)
        assert all(v > 0 for v in top.values())
        assert pc.all(pc.equal(result.lines["arrears_seq"], seq)).as_py() in (True, None)
        after = {k: before.get(k, 0) + top.get(k, 0) for k in before.keys() | top.keys()}
        reduced = {
            (b, s)
            for b, s in zip(
                result.reductions["beneficiary_id"].to_pylist(),
                result.reductions["scheme"].to_pylist(),
                strict=True,
            )
        }
        for key in after.keys() | due.keys():
            paid_before, entitled = before.get(key, 0), due.get(key, 0)
            if entitled > paid_before:
                assert after[key] == entitled, (key, paid_before, entitled, after[key])
            else:
                assert after.get(key, 0) == paid_before  # never clawed back, never paid twice
                assert (key in reduced) == (entitled < paid_before)
        # Another run on the same parameters pays nothing.
        if top:
            all_lines = pa.concat_tables(
                [all_lines, result.lines.select(all_lines.column_names).cast(all_lines.schema)]
            )
        last_parameters = directory / str(M) / "parameters.json"
        assert json.loads(last_parameters.read_text())["stored"][-1]["value"] == value
