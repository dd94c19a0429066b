"""The supervision checks on a month's payroll (资金监管): each is one set-based SQL query (or two) over
the month's payment lines and the records behind them — never a Python loop over the lines — and
returns its hits, each with a stable key and its evidence. `services.run_checks` turns hits into
findings (docs/supervision.md).

The queries are written once for SQLite and PostgreSQL: only the local date of a timestamp and the
number of days between two dates differ (`_local_date`, `_days`)."""

from __future__ import annotations

import calendar
import datetime
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from doudi.benefits.models import ChangeKind, Enrolment, EnrolmentChange
from doudi.core.masking import mask_account_number, mask_name
from doudi.core.text import clean_text
from doudi.disclosure.models import Publication
from doudi.disclosure.services import PUBLICITY_DAYS
from doudi.intake.models import Case, CaseTransition, CovidEvent
from doudi.payments.models import ONE_OFF_SCHEMES, PaymentLine
from doudi.registry.models import Membership, Person, PersonCategory
from doudi.supervision.models import Check, StaffRelative

LINE = PaymentLine._meta.db_table
PERSON = Person._meta.db_table
MEMBERSHIP = Membership._meta.db_table
CATEGORY = PersonCategory._meta.db_table
ENROLMENT = Enrolment._meta.db_table
CASE = Case._meta.db_table
TRANSITION = CaseTransition._meta.db_table
PUBLICATION = Publication._meta.db_table
COVID_EVENT = CovidEvent._meta.db_table

ONE_OFF = "(" + ", ".join(f"'{s}'" for s in ONE_OFF_SCHEMES) + ")"
# A line that pays (or paid, or will be re-issued): not held back.
PAYS = "status <> 'held'"
# Lines whose amount the rule set: the month's own scheme lines. A flagged line pays the enrolled amount.
ENROLLED_FLAGS = "('reduce', 'exit', 'deferred_hold', 'deferred_exit')"


@dataclass
class Hit:
    key: str
    check: str
    region_id: str
    district: str
    amount_fen: int = 0
    person_id: int | None = None
    household_id: int | None = None
    case_id: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


# The month's paying lines as the line checks read them: one pass over the table (ADBC on PostgreSQL),
# integers only — strings cost most to move — the few lines a check finds are read again for their
# 流水号, scheme, village, holder and account (`_line_facts`). `kind`: 1 低保, 2 丧葬救助, 3 another
# monthly scheme, 4 a one-off payment; `expected_fen`: what the payroll's rule gave (the enrolled amount on
# a line waiting for a written decision, else the computed one); `acct`: the account number hashed
# (NULL for none), the groups it finds checked against the numbers themselves.
LINE_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("kind", pa.int64()),
        ("household_id", pa.int64()),
        ("person_id", pa.int64()),
        ("district", pa.string()),
        ("amount_fen", pa.int64()),
        ("expected_fen", pa.int64()),
        ("acct", pa.int64()),
        ("arrears_seq", pa.int64()),
    ]
)
KIND_SQL = (
    "CASE scheme WHEN 'dibao' THEN 1 WHEN 'bereavement' THEN 2 "
    f"WHEN {' THEN 4 WHEN '.join(repr(str(s)) for s in ONE_OFF_SCHEMES)} THEN 4 ELSE 3 END"
)
EXPECTED_SQL = f"CASE WHEN flag IN {ENROLLED_FLAGS} THEN enrolled_fen ELSE computed_fen END"


def _acct_sql() -> str:
    if _pg():
        return "CASE WHEN account_number = '' THEN NULL ELSE hashtextextended(account_number, 0) END"
    # SQLite has no hash: the number's digits as an integer (at most 32 digits: the low 18).
    return "CASE WHEN account_number = '' THEN NULL ELSE CAST(substr(account_number, -18) AS INTEGER) END"


@dataclass
class Month:
    text: str  # "2020-03"
    first: datetime.date
    last: datetime.date
    _duck: Any = field(default=None, repr=False)
    read_seconds: float = 0.0

    @classmethod
    def parse(cls, text: str) -> Month:
        year, month = (int(p) for p in text.split("-"))
        first = datetime.date(year, month, 1)
        return cls(f"{year:04d}-{month:02d}", first, first.replace(day=calendar.monthrange(year, month)[1]))

    def lines(self) -> Any:
        """A DuckDB connection with the month's paying lines registered as `l` (read once per run)."""
        if self._duck is None:
            import time

            import duckdb

            from doudi.verification.dataio import read_consistent, read_tables

            clock = time.perf_counter()
            columns = (
                f"id, {KIND_SQL} AS kind, household_id, person_id, district, amount_fen,"
                f" {EXPECTED_SQL} AS expected_fen, {_acct_sql()} AS acct, arrears_seq"
            )
            sql = f"SELECT {columns} FROM {LINE} WHERE month = '{self.text}' AND {PAYS}"
            halves = _halves(self.text)
            if halves:
                # Both cores: two connections each read half of the month's partition (a TID range
                # scan of its first or last blocks, so no block is read twice), in one snapshot.
                parts = read_consistent(
                    {f"lines{i}": (f"{sql} AND {half}", LINE_SCHEMA) for i, half in enumerate(halves)},
                    lanes=len(halves),
                )
                table = pa.concat_tables(parts.values())
            else:
                table = read_tables({"lines": (sql, LINE_SCHEMA)})["lines"]
            con = duckdb.connect()
            con.execute("SET threads = 2")
            con.register("l", table)
            self._duck = con
            self.read_seconds = time.perf_counter() - clock
        return self._duck

    def close(self) -> None:
        if self._duck is not None:
            self._duck.close()
            self._duck = None


def _halves(month: str) -> tuple[str, str] | None:
    """On PostgreSQL, the month's lines split in two by block: the conditions on `ctid` that select the
    first and the second half of the blocks of the partition holding the month (its own, or the
    default partition). Any split point covers every line once; None on SQLite or a plain table."""
    if not _pg():
        return None
    from doudi.payments import partitions

    with connection.cursor() as cursor:
        if not partitions.is_partitioned(cursor):
            return None
        table = partitions.partition_name(month) if partitions.partition_exists(cursor, month) else ""
        if not table or not partitions.is_attached(cursor, month):
            table = partitions.DEFAULT
        cursor.execute(
            "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::bigint", [table]
        )
        half = max(int(cursor.fetchone()[0]) // 2, 1)
    return f"ctid < '({half},0)'::tid", f"ctid >= '({half},0)'::tid"


def _line_facts(ids: set[int]) -> dict[int, tuple]:
    """id → (流水号, village, holder name, scheme, beneficiary, account number, computed, enrolled, flag) of
    the few lines a check found."""
    facts: dict[int, tuple] = {}
    for chunk in _chunks(sorted(ids), 1000):
        for pk, *rest in PaymentLine.objects.filter(id__in=chunk).values_list(
            "id",
            "ref",
            "region_id",
            "holder_name",
            "scheme",
            "beneficiary_id",
            "account_number",
            "computed_fen",
            "enrolled_fen",
            "flag",
        ):
            facts[pk] = tuple(rest)
    return facts


def _rows(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _pg() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def scan_settings() -> Iterator[None]:
    """On PostgreSQL, for the checks' session: hash a month's lines in memory (the 4 MB default spills a
    million groups to disk in batches) and no JIT compiling for one pass over them."""
    if not _pg():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")
            cursor.execute("RESET jit")


def _local_date(column: str) -> str:
    """The local (settings.TIME_ZONE) calendar day of a stored timestamp."""
    if _pg():
        return f"CAST(({column} AT TIME ZONE '{settings.TIME_ZONE}') AS date)"
    offset = datetime.datetime.now(datetime.UTC).astimezone(_zone()).utcoffset() or datetime.timedelta()
    return f"date({column}, '{int(offset.total_seconds() // 3600):+d} hours')"


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(settings.TIME_ZONE)


def _days(later: str, earlier: str) -> str:
    """Whole days from `earlier` to `later` (two date columns)."""
    if _pg():
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _district(region_id: str) -> str:
    return region_id[:6]


# --- 1. paid twice in one scheme-month; paid in two districts ------------------------------------------


def duplicates(m: Month) -> list[Hit]:
    """One pass over the month's own lines, grouped by the person paid:

    - 同一项目同月重复发放: two lines of one household scheme (低保, 丧葬救助) to one person within one
      district — two households' 低保 headed by one person. (A person scheme cannot pay one person
      twice: its beneficiary is the person, and (month, scheme, beneficiary) is unique.)
    - 同月在两个区县领取: the person's lines of the month come from two districts."""
    household = "kind IN (1, 2)"
    own = "arrears_seq = 0 AND kind <> 4"
    # Every kind found needs two lines of the person: the lines' full figures are summed only for the
    # persons with more than one (fewer than half) — one cheap count per person first (S1: DuckDB's
    # CPU for this check 1.8 → 1.5 s at 3.5 M lines).
    rows = (
        m.lines()
        .execute(
            f"SELECT person_id, MIN(district), MAX(district), COUNT(*), SUM(amount_fen), MIN(id), MAX(id),"
            f" MIN(household_id), MAX(household_id),"
            f" COUNT(*) FILTER (WHERE kind = 1), COUNT(*) FILTER (WHERE kind = 2),"
            f" SUM(amount_fen) FILTER (WHERE {household}), MAX(amount_fen) FILTER (WHERE {household})"
            f" FROM l WHERE {own} AND person_id IN"
            f"  (SELECT person_id FROM l WHERE {own} GROUP BY person_id HAVING COUNT(*) > 1)"
            f" GROUP BY person_id HAVING MIN(district) <> MAX(district)"
            f" OR COUNT(*) FILTER (WHERE kind = 1) > 1 OR COUNT(*) FILTER (WHERE kind = 2) > 1"
        )
        .fetchall()
    )
    facts = _line_facts({r[5] for r in rows} | {r[6] for r in rows})
    rows = [
        (r[0], r[1], r[2], facts[r[5]][1], r[3], r[4], facts[r[5]][0], facts[r[6]][0], *r[7:]) for r in rows
    ]
    hits = []
    for person, d1, d2, region, n, total, r1, r2, h1, h2, n_dibao, n_bereavement, h_total, h_largest in rows:
        evidence = {
            "lines": int(n),
            "total_fen": int(total),
            "refs": sorted({r1, r2}),
            "households": sorted({h1, h2}),
        }
        if d1 != d2:
            hits.append(
                Hit(
                    key=f"{Check.TWO_DISTRICTS}:{m.text}:{person}",
                    check=Check.TWO_DISTRICTS,
                    region_id=region,
                    district=d1,
                    amount_fen=int(total),
                    person_id=person,
                    household_id=h1,
                    evidence={"districts": [d1, d2], **evidence},
                )
            )
        elif n_dibao > 1 or n_bereavement > 1:
            scheme = "dibao" if n_dibao > 1 else "bereavement"
            hits.append(
                Hit(
                    key=f"{Check.PAID_TWICE}:{m.text}:{scheme}:{person}",
                    check=Check.PAID_TWICE,
                    region_id=region,
                    district=d1,
                    amount_fen=int(h_total) - int(h_largest),
                    person_id=person,
                    household_id=h1,
                    evidence={"scheme": scheme, **evidence},
                )
            )
    return hits


# --- 2. paid after death --------------------------------------------------------------------------------


def _extract_deaths(before: datetime.date) -> list[tuple[str, datetime.date]]:
    """(id number, earliest death day before `before`) from every loaded deaths extract (DuckDB over
    the Parquet files the verification keeps)."""
    from doudi.verification.extracts import extract_path
    from doudi.verification.models import Extract
    from doudi.verification.sources import Source

    paths = [
        str(p)
        for p in (
            extract_path(Path(settings.DOUDI_DATA_DIR), Source.DEATHS.value, d)
            for d in Extract.objects.filter(source=Source.DEATHS.value, status="loaded").values_list(
                "extract_date", flat=True
            )
        )
        if p.exists()
    ]
    if not paths:
        return []
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute(
            "SELECT id_number, MIN(died_on) FROM read_parquet(?) WHERE died_on < ? GROUP BY id_number",
            [paths, before],
        ).fetchall()
    finally:
        con.close()


def paid_after_death(m: Month) -> list[Hit]:
    """死亡后仍发放: a line of the month paid to a person who died before the month began — by the
    registry (死亡日期), a COVID death event (not voided) or a deaths extract (死亡登记)."""
    deaths = _extract_deaths(m.first)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS supervision_tmp_deaths")
        cursor.execute(
            "CREATE TEMPORARY TABLE supervision_tmp_deaths (id_number varchar(18) PRIMARY KEY, died_on date)"
        )
        if deaths:
            cursor.executemany(
                "INSERT INTO supervision_tmp_deaths (id_number, died_on) VALUES (%s, %s)",
                [(i, _day(d)) for i, d in deaths],
            )
        cursor.execute(
            f"SELECT id, 'registry', covid_died_on FROM {PERSON} WHERE covid_died_on < %s"
            f" UNION ALL SELECT person_id, 'covid_event', date FROM {COVID_EVENT}"
            f"  WHERE kind = 'died' AND voided_at IS NULL AND date < %s"
            f" UNION ALL SELECT p.id, 'deaths_extract', t.died_on FROM supervision_tmp_deaths t"
            f"  JOIN {PERSON} p ON p.id_number = t.id_number",
            [m.first, m.first],
        )
        died = cursor.fetchall()
        cursor.execute("DROP TABLE supervision_tmp_deaths")
    if not died:
        return []
    con = m.lines()
    con.register(
        "died",
        pa.table(
            {
                "person_id": pa.array([d[0] for d in died], pa.int64()),
                "source": pa.array([d[1] for d in died], pa.string()),
                "died_on": pa.array([_day(d[2]) for d in died], pa.string()),
            }
        ),
    )
    found = con.execute(
        "SELECT l.person_id, l.arrears_seq, l.id, l.amount_fen, l.district,"
        " l.household_id, d.source, d.died_on FROM l JOIN died d ON d.person_id = l.person_id"
    ).fetchall()
    con.unregister("died")
    facts = _line_facts({r[2] for r in found})
    rows = [
        (
            person,
            facts[i][3],
            facts[i][4],
            seq,
            facts[i][0],
            amount,
            facts[i][1],
            district,
            household,
            source,
            day,
        )
        for person, seq, i, amount, district, household, source, day in found
    ]
    hits: dict[str, Hit] = {}
    for person, scheme, beneficiary, seq, ref, amount, region, district, household, source, died in rows:
        key = f"{Check.PAID_AFTER_DEATH}:{m.text}:{scheme}:{beneficiary}:{seq}"
        hit = hits.get(key)
        if hit is None:
            hit = hits[key] = Hit(
                key=key,
                check=Check.PAID_AFTER_DEATH,
                region_id=region,
                district=district,
                amount_fen=int(amount),
                person_id=person,
                household_id=household,
                evidence={"scheme": scheme, "ref": ref, "amount_fen": int(amount), "deaths": []},
            )
        hit.evidence["deaths"].append({"source": source, "died_on": _day(died)})
    for hit in hits.values():
        hit.evidence["deaths"].sort(key=lambda d: (d["source"], d["died_on"]))
    return list(hits.values())


# --- 3. 特困 and 低保 to the same person ----------------------------------------------------------------


def tekun_and_dibao(m: Month) -> list[Hit]:
    """特困与低保重复享受: a person paid 特困 in the month is a member of a household paid 低保 in it,
    and without the 特困 category in force — so counted in the dibao unit (R1 leaves 特困 members out)."""
    rows = _rows(
        f"SELECT t.person_id, t.ref, t.amount_fen, t.region_id, t.district, d.beneficiary_id, d.ref,"
        f" d.amount_fen, d.size FROM {LINE} t"
        f" JOIN {MEMBERSHIP} ms ON ms.person_id = t.person_id AND ms.joined_on <= %s"
        f"  AND (ms.left_on IS NULL OR ms.left_on >= %s)"
        f" JOIN {LINE} d ON d.month = t.month AND d.scheme = 'dibao' AND d.beneficiary_id = ms.household_id"
        f"  AND d.arrears_seq = 0 AND d.{PAYS}"
        f" WHERE t.month = %s AND t.scheme = 'tekun' AND t.arrears_seq = 0 AND t.{PAYS}"
        f" AND NOT EXISTS (SELECT 1 FROM {CATEGORY} c WHERE c.person_id = t.person_id"
        f"  AND c.category = 'tekun' AND c.valid_from <= %s AND (c.valid_to IS NULL OR c.valid_to >= %s))",
        [m.last, m.first, m.text, m.last, m.first],
    )
    return [
        Hit(
            key=f"{Check.TEKUN_AND_DIBAO}:{m.text}:{person}",
            check=Check.TEKUN_AND_DIBAO,
            region_id=region,
            district=district,
            amount_fen=int(t_amount),
            person_id=person,
            household_id=household,
            evidence={
                "tekun": {"ref": t_ref, "amount_fen": int(t_amount)},
                "dibao": {"ref": d_ref, "amount_fen": int(d_amount), "size": size, "household": household},
            },
        )
        for person, t_ref, t_amount, region, district, household, d_ref, d_amount, size in rows
    ]


# --- 4. one account, unrelated households ---------------------------------------------------------------


def shared_account(m: Month) -> list[Hit]:
    """同一账户为无关家庭收款: one account number receives the month's lines of two households that
    never shared a member (a guardian holding a child's card in another household is related by no
    membership either — the supervisor explains it)."""
    con = m.lines()
    found = con.execute(
        "SELECT household_id, id, amount_fen, district, person_id FROM l"
        " WHERE acct IN (SELECT acct FROM l WHERE acct IS NOT NULL"
        "  GROUP BY acct HAVING MIN(household_id) <> MAX(household_id))"
        " ORDER BY id"
    ).fetchall()
    if not found:
        return []
    facts = _line_facts({r[1] for r in found})
    by_number: dict[str, list[tuple]] = defaultdict(list)
    for household, pk, amount, district, person in found:
        ref, region, holder, _scheme, _b, number = facts[pk][:6]
        by_number[number].append((number, household, ref, amount, region, district, person, holder))
    shared = _households_sharing_members({r[1] for r in found})
    hits = []
    for number, group in by_number.items():
        # Two numbers with one hash are told apart here: a group is one number's lines.
        if len({r[1] for r in group}) < 2 or len(_components({r[1] for r in group}, shared)) < 2:
            continue
        first = group[0]
        hits.append(
            Hit(
                key=f"{Check.SHARED_ACCOUNT}:{m.text}:{hashlib.sha256(number.encode()).hexdigest()[:20]}",
                check=Check.SHARED_ACCOUNT,
                region_id=first[4],
                district=first[5],
                amount_fen=sum(int(r[3]) for r in group),
                person_id=first[6],
                household_id=first[1],
                evidence={
                    "account": mask_account_number(number),
                    "holders": sorted({mask_name(r[7]) for r in group}),
                    "households": sorted({r[1] for r in group}),
                    "refs": [r[2] for r in group],
                    "total_fen": sum(int(r[3]) for r in group),
                },
            )
        )
    return hits


def _households_sharing_members(households: set[int]) -> list[tuple[int, int]]:
    """Pairs of these households that ever had a member in common (membership history)."""
    pairs: list[tuple[int, int]] = []
    for chunk in _chunks(sorted(households), 500):
        members: dict[int, set[int]] = defaultdict(set)
        for person, household in Membership.objects.filter(
            person__in=Membership.objects.filter(household__in=chunk).values("person")
        ).values_list("person", "household"):
            members[person].add(household)
        for hs in members.values():
            ordered = sorted(hs)
            pairs.extend((a, b) for a in ordered for b in ordered if a < b)
    return pairs


def _components(nodes: set[int], edges: list[tuple[int, int]]) -> list[set[int]]:
    parent = {n: n for n in nodes}

    def find(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    groups: dict[int, set[int]] = defaultdict(set)
    for n in nodes:
        groups[find(n)].add(n)
    return list(groups.values())


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- 5. staff relatives (条例第33条) --------------------------------------------------------------------


def staff_relative(m: Month) -> list[Hit]:
    """经办人员近亲属享受救助: a declared relative of a staff member is paid in the month (their own
    line, or their household's 低保), and that staff member approved the enrolment or acted on the
    case behind it (filed, handled, decided — any entry of the case's ledger, or the assignment)."""
    declared = list(
        StaffRelative.objects.filter(withdrawn_at__isnull=True).values_list(
            "id", "staff_id", "person_id", "relation"
        )
    )
    if not declared:
        return []
    hits = []
    for chunk in _chunks(declared, 500):
        persons = {d[2] for d in chunk}
        households = dict(
            Membership.objects.filter(person__in=persons, joined_on__lte=m.last)
            .exclude(left_on__lt=m.first)
            .values_list("person", "household")
        )
        lines = PaymentLine.objects.filter(month=m.text, arrears_seq=0).exclude(status="held")
        dibao = {
            row[0]: row
            for row in lines.filter(scheme="dibao", beneficiary_id__in=set(households.values())).values_list(
                "beneficiary_id", "ref", "amount_fen", "region_id", "district", "household_id", "person_id"
            )
        }
        own = defaultdict(list)
        for row in lines.filter(scheme__in=("tekun", "children"), beneficiary_id__in=persons).values_list(
            "beneficiary_id", "ref", "amount_fen", "region_id", "district", "household_id", "scheme"
        ):
            own[row[0]].append(row)
        enrolments = {
            (e[0], e[1], e[2]): e
            for e in Enrolment.objects.filter(_enrolment_q(persons, set(households.values()))).values_list(
                "scheme", "household_id", "person_id", "approved_by_id", "decision_case_id"
            )
        }
        case_ids = {e[4] for e in enrolments.values() if e[4]}
        actors: dict[int, set[int]] = defaultdict(set)
        for case, by in CaseTransition.objects.filter(case__in=case_ids, by__isnull=False).values_list(
            "case", "by"
        ):
            actors[case].add(by)
        for case, filed, assigned in Case.objects.filter(id__in=case_ids).values_list(
            "id", "filed_by_id", "assigned_to_id"
        ):
            actors[case].update(x for x in (filed, assigned) if x)
        for decl, staff, person, relation in chunk:
            paid = []
            household = households.get(person)
            if household in dibao:
                b, ref, amount, region, district, hh, _payee = dibao[household]
                paid.append(
                    ("dibao", b, ref, amount, region, district, hh, enrolments.get(("dibao", hh, None)))
                )
            for b, ref, amount, region, district, hh, scheme in own.get(person, ()):
                paid.append(
                    (scheme, b, ref, amount, region, district, hh, enrolments.get((scheme, hh, person)))
                )
            for scheme, b, ref, amount, region, district, hh, enrolment in paid:
                if enrolment is None:
                    continue
                roles = []
                if enrolment[3] == staff:
                    roles.append("approved")
                if enrolment[4] and staff in actors.get(enrolment[4], ()):
                    roles.append("handled")
                if not roles:
                    continue
                hits.append(
                    Hit(
                        key=f"{Check.STAFF_RELATIVE}:{decl}:{scheme}:{b}",
                        check=Check.STAFF_RELATIVE,
                        region_id=region,
                        district=district,
                        amount_fen=int(amount),
                        person_id=person,
                        household_id=hh,
                        case_id=enrolment[4],
                        evidence={
                            "declaration": decl,
                            "staff": staff,
                            "relation": relation,
                            "scheme": scheme,
                            "ref": ref,
                            "amount_fen": int(amount),
                            "roles": roles,
                        },
                    )
                )
    return hits


def _enrolment_q(persons: set[int], households: set[int]):
    return (
        Q(scheme="dibao", household__in=households) | Q(scheme__in=("tekun", "children"), person__in=persons)
    ) & Q(status__in=("active", "suspended"))


# --- 6. amounts against the rules, overrides without reasons --------------------------------------------


def amount_mismatch(m: Month) -> list[Hit]:
    """发放金额与规则测算不符: a month's scheme line whose amount is not what the payroll's rule gave —
    the computed amount, or the enrolled amount where the line is flagged to wait for a written
    decision (暂缓减发/退出, 待书面决定). The payroll never writes such a line: it was changed after."""
    found = (
        m.lines()
        .execute(
            "SELECT id, amount_fen, district, person_id, household_id FROM l"
            " WHERE arrears_seq = 0 AND kind <> 4 AND expected_fen IS NOT NULL AND amount_fen <> expected_fen"
        )
        .fetchall()
    )
    facts = _line_facts({r[0] for r in found})
    rows = []
    for i, amount, district, person, household in found:
        ref, region, _holder, scheme, b, _number, computed, enrolled, flag = facts[i]
        rows.append((scheme, b, ref, amount, computed, enrolled, flag, region, district, person, household))
    hits = []
    for scheme, b, ref, amount, computed, enrolled, flag, region, district, person, household in rows:
        expected = enrolled if flag in ("reduce", "exit", "deferred_hold", "deferred_exit") else computed
        hits.append(
            Hit(
                key=f"{Check.AMOUNT_MISMATCH}:{m.text}:{scheme}:{b}",
                check=Check.AMOUNT_MISMATCH,
                region_id=region,
                district=district,
                amount_fen=int(amount) - int(expected),
                person_id=person,
                household_id=household,
                evidence={
                    "scheme": scheme,
                    "ref": ref,
                    "amount_fen": int(amount),
                    "expected_fen": int(expected),
                    "computed_fen": None if computed is None else int(computed),
                    "enrolled_fen": None if enrolled is None else int(enrolled),
                    "flag": flag,
                },
            )
        )
    return hits


def _paid_enrolments(m: Month):
    """The enrolments paid by a line of the month (the month's own lines), as a queryset filter."""
    lines = PaymentLine.objects.filter(month=m.text, arrears_seq=0).exclude(status="held")
    return Enrolment.objects.filter(
        Q(scheme="dibao", person__isnull=True)
        & Exists(lines.filter(scheme="dibao", beneficiary_id=OuterRef("household_id")))
        | Q(person__isnull=False)
        & Exists(lines.filter(scheme=OuterRef("scheme"), beneficiary_id=OuterRef("person_id")))
    )


def override_without_reason(m: Month) -> list[Hit]:
    """人工调整金额未写明理由: an enrolment paid in the month whose amount was set against the rules'
    result without a written reason — a dibao decision approved at another amount than the
    evaluation's (or marked overridden) with a blank reason, or a 调整金额 entry of the enrolment's
    ledger with a blank reason. Blank is blank after invisible characters and spaces are dropped."""
    paid = _paid_enrolments(m)
    hits = []
    # Only the decisions that differ from the evaluation or say they were overridden are read whole.
    decided = (
        Case.objects.filter(id__in=paid.filter(decision_case__isnull=False).values("decision_case"))
        .filter(details__decision__isnull=False)
        .annotate(a=KT("details__decision__amount"), e=KT("details__decision__evaluated_amount"))
        .filter(Q(details__decision__overridden=True) | ~Q(a=F("e")))
        .values_list("id", "tracking_number", "region_id", "household_id", "applicant_id", "details")
    )
    for case_id, tracking, region, household, applicant, details in decided:
        d = details.get("decision") or {}
        if clean_text(d.get("override_reason", "")):
            continue
        hits.append(
            Hit(
                key=f"{Check.OVERRIDE_NO_REASON}:case:{case_id}",
                check=Check.OVERRIDE_NO_REASON,
                region_id=region,
                district=_district(region),
                amount_fen=(int(d.get("amount") or 0) - int(d.get("evaluated_amount") or 0)) * 100,
                person_id=applicant,
                household_id=household,
                case_id=case_id,
                evidence={
                    "case": tracking,
                    "amount": d.get("amount"),
                    "evaluated_amount": d.get("evaluated_amount"),
                    "evaluation_decision": d.get("evaluation_decision"),
                    "overridden": bool(d.get("overridden")),
                },
            )
        )
    changes = EnrolmentChange.objects.filter(
        kind=ChangeKind.AMOUNT, effective_month__lte=m.first, enrolment__in=paid.values("id")
    ).values_list(
        "id",
        "enrolment_id",
        "reason",
        "before",
        "after",
        "by_label",
        "effective_month",
        "enrolment__household__region_id",
        "enrolment__household_id",
        "enrolment__person_id",
        "enrolment__household__head_id",
        "enrolment__scheme",
    )
    for cid, eid, reason, before, after, by_label, eff, region, household, person, head, scheme in changes:
        if clean_text(reason):
            continue
        was = _amount_of(before)
        now = _amount_of(after)
        hits.append(
            Hit(
                key=f"{Check.OVERRIDE_NO_REASON}:change:{cid}",
                check=Check.OVERRIDE_NO_REASON,
                region_id=region,
                district=_district(region),
                amount_fen=(now - was) * 100 if now is not None and was is not None else 0,
                person_id=person or head,
                household_id=household,
                evidence={
                    "enrolment": eid,
                    "scheme": scheme,
                    "before": was,
                    "after": now,
                    "by": by_label,
                    "effective_month": eff.isoformat()[:7],
                },
            )
        )
    return hits


def _amount_of(snapshot: Any) -> int | None:
    if isinstance(snapshot, dict):
        for key in ("monthly_amount", "amount"):
            if isinstance(snapshot.get(key), int):
                return snapshot[key]
    return None


# --- 7. time limits and 公示 -----------------------------------------------------------------------------


def _first_paid_cases(m: Month) -> list[tuple]:
    """(case id, scheme, ref, amount, region, district, person, household, enrolment approved_at) of the
    payments a case decided and the month pays for the first time: the one-off lines (the case is
    the beneficiary) and the first month of an enrolment with its decision case."""
    oneoff = _rows(
        f"SELECT l.beneficiary_id, l.scheme, l.ref, l.amount_fen, l.region_id, l.district, l.person_id,"
        f" l.household_id FROM {LINE} l WHERE l.month = %s AND l.scheme IN {ONE_OFF} AND l.{PAYS}",
        [m.text],
    )
    enrolled = _rows(
        f"SELECT e.decision_case_id, l.scheme, l.ref, l.amount_fen, l.region_id, l.district, l.person_id,"
        f" l.household_id FROM {ENROLMENT} e JOIN {LINE} l ON l.month = %s AND l.arrears_seq = 0 AND l.{PAYS}"
        f"  AND l.scheme = e.scheme AND l.beneficiary_id = CASE WHEN e.scheme = 'dibao' THEN e.household_id"
        f"  ELSE e.person_id END"
        f" WHERE e.from_month = %s AND e.decision_case_id IS NOT NULL",
        [m.text, m.first],
    )
    return oneoff + enrolled


def due_when_decided(
    case: Case, transitions: list[CaseTransition]
) -> tuple[datetime.date, datetime.date] | None:
    """(the time limit's last day as it stood when the case was decided, the day of the decision) —
    intake's own clock (`refresh_sla`) walked over the ledger up to the decision, with a pause still
    running at the decision (公示, 评议) closed on that day. None: never decided, or no limit."""
    import copy

    from doudi.intake.flows import flow_for
    from doudi.intake.services import refresh_sla

    flow = flow_for(case.case_type)
    ended = flow.terminal | flow.stopped
    i = next((k for k, t in enumerate(transitions) if t.to_state in ended), None)
    if i is None:
        return None
    t = transitions[i]
    decided_on = timezone.localdate(t.at)
    before = list(transitions[:i])
    shadow = copy.copy(case)
    shadow.state = t.from_state
    if t.from_state in flow.paused:
        # Resume the clock on the day of the decision, in the state the case paused from.
        resumed_in = next(
            (
                p.from_state
                for p in reversed(before)
                if p.to_state == t.from_state and p.from_state not in flow.paused
            ),
            "",
        )
        before.append(CaseTransition(from_state=t.from_state, to_state=resumed_in, at=t.at))
        shadow.state = resumed_in
    refresh_sla(shadow, before)
    if shadow.due_on is None:
        return None
    return shadow.due_on, decided_on


def late_payment(m: Month) -> list[Hit]:
    """超过办理时限发放: a case first paid in the month was decided after its time limit (办理期限,
    intake's SLA clock, 公示 and 评议 not counted) — so the money reached the household late. Read for
    the few cases a month first pays, never for the month's every line."""
    paid = {p[0]: p for p in _first_paid_cases(m)}
    ledgers: dict[int, list[CaseTransition]] = defaultdict(list)
    for t in CaseTransition.objects.filter(case__in=paid).order_by("case", "seq"):
        ledgers[t.case_id].append(t)
    hits = []
    for case in Case.objects.filter(id__in=paid).exclude(sla_limit__isnull=True):
        clock = due_when_decided(case, ledgers.get(case.pk, []))
        if clock is None or clock[1] <= clock[0]:
            continue
        due, decided = clock
        _case, scheme, ref, amount, region, district, person, household = paid[case.pk]
        hits.append(
            Hit(
                key=f"{Check.LATE_PAYMENT}:case:{case.pk}",
                check=Check.LATE_PAYMENT,
                region_id=region,
                district=district,
                amount_fen=int(amount),
                person_id=person,
                household_id=household,
                case_id=case.pk,
                evidence={
                    "case": case.tracking_number,
                    "due_on": due.isoformat(),
                    "decided_on": decided.isoformat(),
                    "days_late": (decided - due).days,
                    "limit": f"{case.sla_limit} {case.sla_unit}",
                    "paid_month": m.text,
                    "scheme": scheme,
                    "ref": ref,
                },
            )
        )
    return hits


def disclosure(m: Month) -> list[Hit]:
    """未经公示作出决定 / 公示未满公示期: a 低保 enrolment paid in the month whose decision case never had a
    公示, or none that ran its full period (7 days; 复核公示 3), stayed up (not withdrawn) and ended
    before the day of approval."""
    days = " ".join(f"WHEN '{kind}' THEN {n - 1}" for kind, n in PUBLICITY_DAYS.items())
    full = (
        f"p.withdrawn_at IS NULL AND {_days('p.end_date', 'p.start_date')} >= (CASE p.kind {days} END)"
        f" AND p.end_date < {_local_date('e.approved_at')}"
    )
    rows = _rows(
        f"SELECT e.decision_case_id, c.tracking_number, l.ref, l.amount_fen, l.region_id, l.district,"
        f" l.person_id, l.household_id, {_local_date('e.approved_at')},"
        f" (SELECT COUNT(*) FROM {PUBLICATION} p WHERE p.case_id = e.decision_case_id)"
        f" FROM {ENROLMENT} e JOIN {CASE} c ON c.id = e.decision_case_id"
        f" JOIN {LINE} l ON l.month = %s AND l.scheme = 'dibao' AND l.arrears_seq = 0 AND l.{PAYS}"
        f"  AND l.beneficiary_id = e.household_id"
        f" WHERE e.scheme = 'dibao' AND e.decision_case_id IS NOT NULL AND e.from_month <= %s"
        f" AND NOT EXISTS (SELECT 1 FROM {PUBLICATION} p WHERE p.case_id = e.decision_case_id AND {full})",
        [m.text, m.first],
    )
    short = [r[0] for r in rows if r[9]]
    publications: dict[int, list[dict]] = defaultdict(list)
    for case, kind, start, end, withdrawn in Publication.objects.filter(case__in=short).values_list(
        "case", "kind", "start_date", "end_date", "withdrawn_at"
    ):
        publications[case].append(
            {
                "kind": kind,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "days": (end - start).days + 1,
                "withdrawn": withdrawn is not None,
            }
        )
    hits = []
    for case, tracking, ref, amount, region, district, person, household, approved, n in rows:
        check = Check.SHORT_DISCLOSURE if n else Check.NO_DISCLOSURE
        hits.append(
            Hit(
                key=f"{check}:case:{case}",
                check=check,
                region_id=region,
                district=district,
                amount_fen=int(amount),
                person_id=person,
                household_id=household,
                case_id=case,
                evidence={
                    "case": tracking,
                    "approved_on": _day(approved)[:10],
                    "ref": ref,
                    "publications": sorted(publications.get(case, []), key=lambda p: p["start"]),
                },
            )
        )
    return hits


# The checks in the order they run and are reported; `duplicates` (paid twice, two districts) and
# `disclosure` (none, too short) each find two kinds in one query.
CHECKS: dict[str, Callable[[Month], list[Hit]]] = {
    "duplicates": duplicates,
    "after_death": paid_after_death,
    "tekun_dibao": tekun_and_dibao,
    "shared_account": shared_account,
    "staff_relative": staff_relative,
    "amount_mismatch": amount_mismatch,
    "override_no_reason": override_without_reason,
    "late_payment": late_payment,
    "disclosure": disclosure,
}
