"""疫情防控期结束 — what the first month after the declared end of the emergency window changes.

The computation is the payroll's own (payments/payroll.py), run on a snapshot frozen for the preview:

    freeze M's population (the payroll's reader) → compute M (the window closed: what the rules find
    below the enrolled amount is no longer held, the line carries it as `computed_fen`) and L, the
    window's last month → the changes → M as it will be paid once they are applied

- **减发 / 退出** (R1, 特困, R3): every enrolment of the scope whose computed amount in M is below the
  enrolled one — the deferred reductions and exits (暂缓减发/退出) and any other found in M; 0 is an
  exit (the last month paid is L), otherwise a reduction from M;
- **年满18周岁停发** (R3 age_out_deferred ending): a child's allowance that stops in M when the child
  turned 18 before M (paid through the window's end month);
- **新冠临时救助停发** (R5): persons paid COVID assistance in L and not in M once the changes are applied
  (discharged or died, or no longer a covered recipient);
- **补交材料到期**: children's cases with proofs deferred under a commitment in the window, still missing
  (intake/workflows/children.py: due N working days after the window's end).

Totals by scheme compare L as computed (the window's last month) with M after the changes — the same
lines the payroll of M computes once they are applied, since the rules and the reader are the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from doudi.policy.money import FEN_PER_YUAN
from doudi.policy.periods import Period

Progress = Callable[[str, int], None]
ENROLMENT_SCHEMES = ("dibao", "tekun", "children")
SCHEME_ORDER = ("dibao", "tekun", "children", "price_subsidy", "covid", "bereavement")


@dataclass
class Change:
    """One previewed change (yuan per month); `enrolment` for reductions, exits and age-outs."""

    kind: str
    scheme: str
    district: str
    household: int
    person: int | None
    enrolment: int | None
    persons: int
    before: int
    after: int
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Preview:
    changes: list[Change]
    totals: dict[str, dict[str, int]]  # scheme → households/persons/before_fen/after_fen
    excluded: list[str]  # districts of the scope whose window is still open in M


def in_window(window: tuple[date, date | None] | None, month: Period) -> bool:
    """POLICY §1: any day of the month in the interval (None: no declaration, the open default)."""
    if window is None:
        return True
    start, end = window
    return start <= month.last_day and (end is None or month.first_day <= end)


def compute(
    snapshot: Path,
    month: Period,
    districts: list[str],
    windows: dict[int, tuple[date, date | None] | None],
    *,
    progress: Progress = lambda stage, percent: None,
) -> Preview:
    """The changes of `month` (the first after the window) in the scope's `districts` whose window is
    closed in it, from the frozen snapshot (payroll.compute on M and on the month before)."""
    from doudi.payments import payroll

    excluded = [d for d in districts if in_window(windows.get(int(d)), month)]
    scope = pa.array([d for d in districts if d not in excluded], pa.string())
    progress("month", 20)
    now = _in_scope(payroll.compute(snapshot, month).lines, scope)
    progress("last-month", 50)
    last = _in_scope(payroll.compute(snapshot, month.shift(-1)).lines, scope)
    progress("changes", 80)

    persons = pq.read_table(
        snapshot / "persons.parquet",
        columns=["person_id", "household_id", "birth_date", "covid_discharged_on", "covid_died_on"],
    )
    members = _count_by(persons.column("household_id"))
    children = now.filter(pc.equal(now.column("scheme"), "children")).column("beneficiary_id")
    kids = persons.filter(pc.is_in(persons.column("person_id"), children))
    born = dict(zip(kids.column("person_id").to_pylist(), kids.column("birth_date").to_pylist(), strict=True))
    enrolments = pq.read_table(snapshot / "enrolments.parquet")
    enrolment_of = {
        (s, h if s == "dibao" else p): e
        for e, s, h, p in zip(
            *(
                enrolments.column(c).to_pylist()
                for c in ("enrolment_id", "scheme", "household_id", "person_id")
            ),
            strict=True,
        )
    }

    changes: list[Change] = []
    falls = pc.and_(
        pc.is_in(now.column("scheme"), pa.array(ENROLMENT_SCHEMES)),
        pc.less(now.column("computed_fen"), now.column("amount_fen")),
    )
    for row in now.filter(falls).to_pylist():
        scheme, after = row["scheme"], row["computed_fen"] // FEN_PER_YUAN
        person = None if scheme == "dibao" else row["beneficiary_id"]
        kind = "reduce" if after > 0 else "exit"
        detail: dict[str, Any] = {"decision": row["decision"]}
        if scheme == "children" and after == 0 and _turned_18_before(born.get(person), month):
            kind = "age_out"
            detail["adult_on"] = _adult_on(born[person]).isoformat()
        changes.append(
            Change(
                kind=kind,
                scheme=scheme,
                district=row["district"],
                household=row["household_id"],
                person=person,
                enrolment=enrolment_of[(scheme, row["beneficiary_id"])],
                persons=members.get(row["household_id"], 1) if scheme == "dibao" else 1,
                before=row["amount_fen"] // FEN_PER_YUAN,
                after=after,
                detail=detail,
            )
        )
    after_lines = _applied(now, changes, enrolments)

    # COVID assistance paid in the window's last month and no longer in M once the changes apply.
    still = set(
        after_lines.filter(pc.equal(after_lines.column("scheme"), "covid"))
        .column("beneficiary_id")
        .to_pylist()
    )
    covid_last = last.filter(
        pc.and_(pc.equal(last.column("scheme"), "covid"), pc.greater(last.column("amount_fen"), 0))
    )
    patients = persons.filter(pc.is_in(persons.column("person_id"), covid_last.column("beneficiary_id")))
    ended = {
        p: (d, x)
        for p, d, x in zip(
            patients.column("person_id").to_pylist(),
            patients.column("covid_discharged_on").to_pylist(),
            patients.column("covid_died_on").to_pylist(),
            strict=True,
        )
    }
    for row in covid_last.to_pylist():
        if row["beneficiary_id"] in still:
            continue
        discharged, died = ended.get(row["beneficiary_id"], (None, None))
        changes.append(
            Change(
                kind="covid_stop",
                scheme="covid",
                district=row["district"],
                household=row["household_id"],
                person=row["beneficiary_id"],
                enrolment=None,
                persons=1,
                before=row["amount_fen"] // FEN_PER_YUAN,
                after=0,
                detail={
                    "discharged_on": discharged.isoformat() if discharged else None,
                    "died_on": died.isoformat() if died else None,
                },
            )
        )
    progress("totals", 90)
    return Preview(changes, _totals(last, after_lines, members), [str(d) for d in excluded])


def _in_scope(lines: pa.Table, scope: pa.Array) -> pa.Table:
    return lines.filter(pc.is_in(lines.column("district"), scope))


def _count_by(column: pa.ChunkedArray) -> dict[int, int]:
    counts = pc.value_counts(column.combine_chunks())
    return dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True))


def _adult_on(birth: date) -> date:
    try:
        return birth.replace(year=birth.year + 18)
    except ValueError:  # born on 29 February
        return date(birth.year + 18, 3, 1)


def _turned_18_before(birth: date | None, month: Period) -> bool:
    """R3: the allowance runs up to the month of the 18th birthday; before `month` it has passed."""
    return birth is not None and _adult_on(birth) < month.first_day


def _key(scheme: pa.Array | pa.ChunkedArray, beneficiary: np.ndarray) -> np.ndarray:
    """One integer per (scheme, beneficiary): ids are database keys, schemes fewer than 8."""
    code = pc.fill_null(pc.index_in(scheme, value_set=pa.array(SCHEME_ORDER)), 7)
    return np.asarray(beneficiary, dtype=np.int64) * 8 + np.asarray(
        code.to_numpy(zero_copy_only=False), np.int64
    )


def _applied(lines: pa.Table, changes: list[Change], enrolments: pa.Table) -> pa.Table:
    """M's lines once the changes are applied: an exit's line goes, a reduction's pays the computed
    amount, and a household left with no enrolment leaves the payroll with all its lines (the
    payroll's population is the households with an enrolment in force)."""
    ending = [c for c in changes if c.kind in ("exit", "age_out")]
    reducing = [c for c in changes if c.kind == "reduce"]
    ended = pa.array([c.enrolment for c in ending], pa.int64())
    remaining = enrolments.filter(pc.invert(pc.is_in(enrolments.column("enrolment_id"), ended)))

    def keys(cs: list[Change]) -> np.ndarray:
        who = [c.household if c.scheme == "dibao" else c.person for c in cs]
        return _key(pa.array([c.scheme for c in cs], pa.string()), np.array(who, dtype=np.int64))

    line_keys = _key(lines.column("scheme"), lines.column("beneficiary_id").to_numpy())
    keep = ~np.isin(line_keys, keys(ending))
    keep &= np.asarray(
        pc.is_in(lines.column("household_id"), remaining.column("household_id")).to_numpy(
            zero_copy_only=False
        ),
        dtype=np.bool_,
    )
    amounts = np.asarray(lines.column("amount_fen").to_numpy(), dtype=np.int64).copy()
    reduced = keys(reducing)
    at = np.isin(line_keys, reduced)
    new = dict(zip(reduced.tolist(), [c.after * FEN_PER_YUAN for c in reducing], strict=True))
    amounts[at] = [new[k] for k in line_keys[at].tolist()]  # the reductions only
    lines = lines.set_column(lines.schema.get_field_index("amount_fen"), "amount_fen", pa.array(amounts))
    return lines.filter(pa.array(keep))


def _totals(before: pa.Table, after: pa.Table, members: dict[int, int]) -> dict[str, dict[str, int]]:
    """Per scheme: households, persons (a dibao household counts its members) and fen per month, in
    the window's last month (before) and in M once the changes are applied (after)."""
    out: dict[str, dict[str, int]] = {}
    for label, lines in (("before", before), ("after", after)):
        for scheme in SCHEME_ORDER:
            part = lines.filter(pc.equal(lines.column("scheme"), scheme))
            households = set(part.column("household_id").to_pylist())
            if scheme == "dibao":
                persons = sum(members.get(h, 1) for h in households)
            else:
                persons = len(set(part.column("person_id").to_pylist()))
            entry = out.setdefault(scheme, {})
            entry[f"{label}_households"] = len(households)
            entry[f"{label}_persons"] = persons
            entry[f"{label}_fen"] = int(pc.sum(part.column("amount_fen")).as_py() or 0)
    return out
