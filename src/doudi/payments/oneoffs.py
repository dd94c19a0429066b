"""一次性救助进花名册: approved 临时救助 / 一事一议 and cash 先行救助 as payment lines of the monthly payroll.

- **freeze** reads, in the payroll's one consistent read, every case decided and not yet paid (`SQL`):
  an approved temporary-assistance or 一事一议 case, or a 先行救助 given (also once formalised or
  justified), whose applicant is in the registry (with a household) and which has no payment line yet — with the case's
  record as it stands (`details` as JSON text) and the record of the case it came from. They are the
  snapshot's ``oneoffs.parquet``: an edit of the case after freezing changes nothing in that payroll.
- **compute** turns each into at most one line (`lines`; one-offs are few: a loop over them, not over
  the population): the amount `intake.workflows.payout.one_off_award` decides (cash only, less a first
  aid already given), paid to the applicant's active account from the snapshot (``held`` with
  ``no_account`` when none), a cash 先行救助 born ``paid`` with flag ``cash_given`` (never in a bank
  file). The lines come after the month's scheme lines, their 流水号 continuing the month's numbering.
- the unique key (case id, scheme) lets a case be paid once whatever runs follow; `drop_paid` removes,
  before writing, a case another run has paid meanwhile (two months frozen before either was computed).
- the bank's return closes the case whose line was paid (`close_paid_cases`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from doudi.policy.money import FEN_PER_YUAN

FILE = "oneoffs.parquet"
SCHEMES = ("temporary", "case_by_case", "first_aid")

SCHEMA = pa.schema(
    [
        ("case_id", pa.int64()),
        ("case_type", pa.string()),
        ("tracking_number", pa.string()),
        ("person_id", pa.int64()),
        ("household_id", pa.int64()),
        ("region_id", pa.string()),
        ("region_path", pa.string()),
        ("details", pa.string()),
        ("related_details", pa.string()),
    ]
)

# Decided and not yet paid: approved temporary / 一事一议, a first aid given (given, then formalised or
# justified), an applicant in the registry with a household (the case's, else their current one: a line
# names its household), no payment line for the case yet.
# "No line yet": the scheme list lets the planner probe the partial unique index one_payment_per_case
# (only the one-off lines), not the month's million scheme lines. PostgreSQL: the lines are
# partitioned by month and the one-off keys live in their own table (payments/partitions.py): probe it.
NOT_PAID_LINE = (
    "NOT EXISTS (SELECT 1 FROM payments_paymentline l WHERE l.beneficiary_id = c.id "
    "AND l.scheme = c.case_type AND l.scheme IN ('temporary', 'case_by_case', 'first_aid'))"
)
NOT_PAID_KEY = "NOT EXISTS (SELECT 1 FROM payments_oneoffcase k WHERE k.beneficiary_id = c.id AND k.scheme = c.case_type)"
SQL = (
    "SELECT c.id AS case_id, c.case_type AS case_type, c.tracking_number AS tracking_number, "
    "p.id AS person_id, COALESCE(c.household_id, m.household_id) AS household_id, "
    "p.region_id AS region_id, r.path AS region_path, CAST(c.details AS TEXT) AS details, "
    "CAST(rc.details AS TEXT) AS related_details "
    "FROM intake_case c JOIN registry_person p ON p.id = c.applicant_id "
    "JOIN regions_region r ON r.code = p.region_id "
    "LEFT JOIN registry_membership m ON m.person_id = p.id AND m.left_on IS NULL "
    "LEFT JOIN intake_case rc ON rc.id = c.related_case_id "
    "WHERE ((c.case_type IN ('temporary', 'case_by_case') AND c.state = 'approved') "
    "OR (c.case_type = 'first_aid' AND c.state IN ('given', 'formalised', 'closed'))) "
    "AND COALESCE(c.household_id, m.household_id) IS NOT NULL "
    "AND {not_paid} ORDER BY c.id"
)


def query() -> tuple[str, pa.Schema]:
    from doudi.verification.dataio import is_postgres

    return SQL.format(not_paid=NOT_PAID_KEY if is_postgres() else NOT_PAID_LINE), SCHEMA


def snapshot_table(table: pa.Table | None) -> pa.Table:
    """The frozen table: one row per case (a person with two open memberships would repeat it)."""
    if table is None:
        return SCHEMA.empty_table()
    table = table.select(SCHEMA.names).cast(SCHEMA).sort_by([("case_id", "ascending")])
    ids = np.asarray(table.column("case_id").to_numpy(), dtype=np.int64)
    first = np.ones(len(ids), dtype=np.bool_)
    first[1:] = ids[1:] != ids[:-1]
    return table.filter(pa.array(first))


def read(snapshot: Path) -> pa.Table:
    """The snapshot's one-offs (none in a snapshot frozen before they were paid by the payroll)."""
    path = snapshot / FILE
    return pq.read_table(path) if path.exists() else SCHEMA.empty_table()


def _district(path: str) -> str:
    parts = [p for p in (path or "").split("/") if p]
    return parts[1] if len(parts) > 1 else (parts[0] if parts else "")


def lines(
    oneoffs: pa.Table, accounts: pa.Table, *, month: str, first_ref: int, schema: pa.Schema
) -> pa.Table:
    """The one-off lines of the snapshot, typed as the month's lines (`schema`), refs from `first_ref`."""
    from doudi.intake.workflows.payout import one_off_award

    by_person = {row["person_id"]: row for row in _accounts_of(accounts, oneoffs)}
    prefix = month.replace("-", "")
    rows: list[dict[str, Any]] = []
    for case in oneoffs.to_pylist():  # decided cases of one month: a handful, not the population
        details = json.loads(case["details"] or "{}")
        related = json.loads(case["related_details"]) if case["related_details"] else None
        award = one_off_award(case["case_type"], case["tracking_number"], details, related)
        if award is None or award.pay <= 0:
            continue  # goods or services, or nothing left after the first aid: recorded on the case
        account = None if award.cash_given else by_person.get(case["person_id"])
        if award.cash_given:
            status, flag = "paid", "cash_given"
        elif account is None:
            status, flag = "held", "no_account"
        else:
            status, flag = "pending", ""
        rows.append(
            {
                "ref": f"{prefix}{first_ref + len(rows):010d}",
                "month": month,
                "scheme": award.scheme,
                "beneficiary_id": case["case_id"],
                "household_id": case["household_id"],
                "person_id": case["person_id"],
                "region_id": case["region_id"],
                "district": _district(case["region_path"]),
                "amount_fen": award.pay * FEN_PER_YUAN,
                "previous_fen": None,
                "change": "new",
                "decision": "",
                "flag": flag,
                "status": status,
                "account_id": account["account_id"] if account else None,
                "bank_code": account["bank_code"] if account else "",
                "account_number": account["account_number"] if account else "",
                "holder_name": account["holder_name"] if account else "",
                "explanation": award.explanation,
                "attempts": 0,
                "failure_code": "",
                "failure_reason": "",
            }
        )
    return _align(pa.Table.from_pylist(rows), schema, len(rows))


def _align(table: pa.Table, schema: pa.Schema, n: int) -> pa.Table:
    """`table` with exactly `schema`'s columns and types (a column it lacks: nulls)."""
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(n, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _accounts_of(accounts: pa.Table, oneoffs: pa.Table) -> list[dict[str, Any]]:
    """The active accounts of the one-offs' applicants (filtered by Arrow, not by a loop over accounts)."""
    if not oneoffs.num_rows or not accounts.num_rows:
        return []
    wanted = pc.is_in(accounts.column("person_id"), value_set=oneoffs.column("person_id"))
    return accounts.filter(wanted).to_pylist()


def drop_paid(run_id: int, table: pa.Table) -> pa.Table:
    """The run's lines without the one-offs another run has already written (a case is paid once)."""
    from doudi.payments.models import PaymentLine

    mask = pc.is_in(table.column("scheme"), value_set=pa.array(SCHEMES))
    if not table.num_rows or not pc.any(mask).as_py():
        return table
    one = table.filter(mask)
    keys = list(zip(one.column("scheme").to_pylist(), one.column("beneficiary_id").to_pylist(), strict=True))
    taken = set(
        PaymentLine.objects.filter(scheme__in=SCHEMES, beneficiary_id__in=[b for _s, b in keys])
        .exclude(run_id=run_id)
        .values_list("scheme", "beneficiary_id")
    )
    if not taken:
        return table
    keep = np.ones(table.num_rows, dtype=np.bool_)
    rows = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=np.bool_))
    for row, key in zip(rows, keys, strict=True):  # the one-off rows only
        keep[row] = key not in taken
    return table.filter(pa.array(keep))


def close_paid_cases(line_ids: list[int], by: Any) -> int:
    """办结 the temporary / 一事一议 cases whose lines the bank's return has just paid."""
    from doudi.intake.workflows.payout import close_on_payment
    from doudi.payments.models import PaymentLine

    closed = 0
    paid = PaymentLine.objects.filter(pk__in=line_ids, scheme__in=SCHEMES[:2], status="paid")
    for line in paid.only("beneficiary_id", "ref", "amount_fen").order_by("pk"):
        closed += close_on_payment(
            case_id=line.beneficiary_id, ref=line.ref, amount_fen=line.amount_fen, by=by
        )
    return closed
