"""审计日志查阅 (issue 12 part 3, 条例第35条): the audit log read by the auditor and the supervisors.

- `search`: the log filtered by person (ID number), user, action, date range or entry number, newest
  first, paged by keyset on the sequence number — the log grows by every read of every officer, so no
  page ever counts it or skips through it with OFFSET.
- `readers`: who read a person's record (the person, their households, the cases they applied in).
- `unusual_access`: the reads and exports a rule flags, each with the rule that flagged it.
- `check_chain`: the hash chain verified on demand (audit.services.verify_chain), its result recorded.

Region scope: a reviewer bound to the city sees every entry (system entries and logins too); one bound
to a district (区县民政监督员) sees the entries about objects in that district only — `region_path` is
the region of the object an entry is about (for an export, the exporting officer's region).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min, Q, QuerySet, Value
from django.db.models.functions import Concat, ExtractHour, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.accounts.models import User
from doudi.accounts.roles import Role
from doudi.audit.models import AuditAction, AuditEntry
from doudi.audit.services import VerifyResult, chained_entries, record, record_read, verify_chain
from doudi.core.masking import mask_id_number, mask_name
from doudi.core.text import clean_text
from doudi.intake.models import Case, CaseTransition
from doudi.registry import identity
from doudi.registry.models import Household, Membership, Person

REVIEW_ROLES = (Role.AUDITOR, Role.MUNICIPAL_SUPERVISOR, Role.DISTRICT_SUPERVISOR)
PAGE_SIZE = 50
EXPORT_LIMIT = 10_000  # rows in one Excel download; narrow the search for more
READERS_LIMIT = 200  # readers listed for one person
UNUSUAL_DEFAULT_DAYS = 7
UNUSUAL_MAX_DAYS = 31

# The records a read of which is a read of a person's data.
PERSONAL_TYPES = ("registry.person", "registry.household", "intake.case")

# --- the rules of unusual access (thresholds in force since 2026-12-07, docs/supervision.md) ----------------
# A user reading more distinct records in one day than this that are not in cases they handle.
MANY_READS_PER_DAY = 30
# Reads between NIGHT_FROM:00 and NIGHT_UNTIL:00 local time (Asia/Shanghai); every such night is listed.
NIGHT_FROM, NIGHT_UNTIL = 22, 6
# One export of at least this many rows.
BULK_EXPORT_ROWS = 500
# More exports than this by one user in one day.
EXPORTS_PER_DAY = 10


class Rule:
    MANY_OUTSIDE = "many_outside"
    NIGHT = "night"
    BULK_EXPORT = "bulk_export"
    FREQUENT_EXPORT = "frequent_export"


RULE_LABELS = {
    Rule.MANY_OUTSIDE: gettext_lazy("一天内查阅非本人经办的记录达 %(n)s 条以上"),
    Rule.NIGHT: gettext_lazy("夜间（%(start)s:00–次日%(end)s:00）查阅个人记录"),
    Rule.BULK_EXPORT: gettext_lazy("单次导出 %(n)s 行以上个人数据"),
    Rule.FREQUENT_EXPORT: gettext_lazy("一天内导出 %(n)s 次以上"),
}


def rule_text(code: str) -> str:
    threshold = {
        Rule.MANY_OUTSIDE: MANY_READS_PER_DAY,
        Rule.BULK_EXPORT: BULK_EXPORT_ROWS,
        Rule.FREQUENT_EXPORT: EXPORTS_PER_DAY,
    }.get(code, 0)
    return str(RULE_LABELS[code]) % {"n": threshold, "start": NIGHT_FROM, "end": NIGHT_UNTIL}


def can_review(user: Any) -> bool:
    return bool(getattr(user, "region_id", None)) and user.has_role(*REVIEW_ROLES)


def scoped_entries(user: User) -> QuerySet[AuditEntry]:
    """The entries this reviewer may read (nothing for anyone else)."""
    if not can_review(user):
        return AuditEntry.objects.none()
    region = user.region
    if region is None:
        return AuditEntry.objects.none()
    entries = chained_entries()
    if region.parent_id is None:
        return entries
    return entries.filter(region_path__startswith=region.path)


# --- the search ------------------------------------------------------------------------------------------------


@dataclass
class AuditQuery:
    id_number: str = ""
    username: str = ""
    action: str = ""
    date_from: datetime.date | None = None
    date_to: datetime.date | None = None
    seq: int | None = None
    person: Person | None = None
    actor: User | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (
            self.id_number or self.username or self.action or self.date_from or self.date_to or self.seq
        )

    def params(self) -> dict[str, str]:
        """The query as URL parameters (for the pages' links and the export)."""
        out = {
            "id_number": self.id_number,
            "username": self.username,
            "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
            "seq": str(self.seq) if self.seq else "",
        }
        return {k: v for k, v in out.items() if v}


def _date(errors: dict[str, str], name: str, raw: Any) -> datetime.date | None:
    text = clean_text(raw)
    if not text:
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        errors[name] = _("请填写有效日期（YYYY-MM-DD）。")
        return None


def parse_query(user: User, params: Any) -> AuditQuery:
    """The search's parameters, checked; a person or user not found (or outside the reviewer's region)
    is an error on its field, never a silent match-everything."""
    q = AuditQuery()
    errors = q.errors
    raw_id = clean_text(params.get("id_number", ""))[:32]
    if raw_id:
        q.id_number = identity.normalise(raw_id)
        if not re.fullmatch(r"\d{17}[\dX]", q.id_number):
            errors["id_number"] = _("请填写18位身份证号。")
        else:
            q.person = Person.objects.visible_to(user).filter(id_number=q.id_number).first()
            if q.person is None:
                errors["id_number"] = _("您的辖区内没有该身份证号的人员。")
    q.username = clean_text(params.get("username", ""))[:150]
    if q.username:
        q.actor = User.objects.filter(username=q.username).first()
        if q.actor is None:
            errors["username"] = _("没有该用户名的工作人员。")
    q.action = clean_text(params.get("action", ""))
    if q.action and q.action not in AuditAction.values:
        errors["action"] = _("请选择有效的操作类型。")
    q.date_from = _date(errors, "date_from", params.get("date_from"))
    q.date_to = _date(errors, "date_to", params.get("date_to"))
    if q.date_from and q.date_to and q.date_from > q.date_to:
        errors["date_to"] = _("结束日期不能早于开始日期。")
    raw_seq = clean_text(params.get("seq", ""))
    if raw_seq:
        if raw_seq.isdigit() and 0 < int(raw_seq) < 2**62:
            q.seq = int(raw_seq)
        else:
            errors["seq"] = _("请填写正整数。")
    return q


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def person_subjects(person: Person) -> Q:
    """The entries about a person: their record, the households they belonged to, the cases they
    applied in."""
    households = list(Membership.objects.filter(person=person).values_list("household_id", flat=True))
    cases = list(Case.objects.filter(applicant=person).values_list("pk", flat=True))
    q = Q(object_type="registry.person", object_id=str(person.pk))
    if households:
        q |= Q(object_type="registry.household", object_id__in=[str(pk) for pk in households])
    if cases:
        q |= Q(object_type="intake.case", object_id__in=[str(pk) for pk in cases])
    return q


def filtered(user: User, q: AuditQuery) -> QuerySet[AuditEntry]:
    """The reviewer's entries matching the query (none while the query has errors)."""
    if q.errors:
        return AuditEntry.objects.none()
    qs = scoped_entries(user)
    if q.person is not None:
        qs = qs.filter(person_subjects(q.person))
    if q.actor is not None:
        qs = qs.filter(actor=q.actor)
    if q.action:
        qs = qs.filter(action=q.action)
    if q.date_from:
        qs = qs.filter(at__gte=_day_start(q.date_from))
    if q.date_to:
        qs = qs.filter(at__lt=_day_start(q.date_to + datetime.timedelta(days=1)))
    if q.seq:
        qs = qs.filter(seq=q.seq)
    return qs


@dataclass
class KeysetPage:
    entries: list[AuditEntry]
    newer: int | None  # ?after= for the newer page
    older: int | None  # ?before= for the older page


def _cursor(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def keyset_page(
    qs: QuerySet[AuditEntry], *, before: Any = None, after: Any = None, size: int = PAGE_SIZE
) -> KeysetPage:
    """One page, newest first: `before` N gives the entries older than entry N, `after` N those newer."""
    before, after = _cursor(before), _cursor(after)
    if after is not None:
        rows = list(qs.filter(seq__gt=after).order_by("seq")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_older = qs.filter(seq__lt=rows[-1].seq).exists() if rows else False
    else:
        base = qs.filter(seq__lt=before) if before is not None else qs
        rows = list(base.order_by("-seq")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = bool(rows) and qs.filter(seq__gt=rows[0].seq).exists()
    label_subjects(rows)
    return KeysetPage(
        entries=rows,
        newer=rows[0].seq if rows and has_newer else None,
        older=rows[-1].seq if rows and has_older else None,
    )


def label_subjects(entries: Sequence[AuditEntry]) -> None:
    """`entry.subject`: who or what an entry is about, masked as in any list (张*明 500101********1234)."""
    ids: dict[str, set[int]] = {t: set() for t in PERSONAL_TYPES}
    for e in entries:
        if e.object_type in ids and e.object_id.isdigit():
            ids[e.object_type].add(int(e.object_id))
    people = {
        str(p.pk): f"{mask_name(p.name)} {mask_id_number(p.id_number)}"
        for p in Person.objects.filter(pk__in=ids["registry.person"]).only("name", "id_number")
    }
    households = {
        str(h.pk): f"{h} · {mask_name(h.head.name)}" if h.head else str(h)
        for h in Household.objects.filter(pk__in=ids["registry.household"]).select_related("head")
    }
    cases = dict(
        (str(pk), number)
        for pk, number in Case.objects.filter(pk__in=ids["intake.case"]).values_list("pk", "tracking_number")
    )
    names = {"registry.person": people, "registry.household": households, "intake.case": cases}
    for e in entries:
        e.subject = names.get(e.object_type, {}).get(e.object_id, "")  # type: ignore[attr-defined]


def export_rows(user: User, q: AuditQuery) -> Iterator[list[Any]]:
    """The search's entries for the Excel download, newest first, at most EXPORT_LIMIT, masked."""
    qs = filtered(user, q).order_by("-seq")[:EXPORT_LIMIT]
    chunk: list[AuditEntry] = []
    for entry in qs.iterator(chunk_size=1000):
        chunk.append(entry)
        if len(chunk) == 500:
            yield from _export_chunk(chunk)
            chunk = []
    yield from _export_chunk(chunk)


def _export_chunk(entries: list[AuditEntry]) -> Iterable[list[Any]]:
    label_subjects(entries)
    for e in entries:
        yield [
            e.seq,
            e.at,
            e.actor_label,
            e.get_action_display(),
            e.object_type,
            e.subject or e.object_id,  # type: ignore[attr-defined]
            e.region_path,
            e.reason,
        ]


def record_person_lookup(user: User, person: Person | None, *, what: str) -> None:
    """A reviewer's look at a person's audit trail is itself a read of that person."""
    if person is not None:
        record_read(actor=user, obj=person, reason=what)


# --- who read this person's record ------------------------------------------------------------------------------


@dataclass
class Reader:
    actor_id: int | None
    actor_label: str
    reads: int
    first: datetime.datetime
    last: datetime.datetime
    handles_case: bool


def readers(user: User, person: Person) -> list[Reader]:
    """Everyone who read the person's record, their households or their cases, most reads first; each
    marked when they handle (or handled) one of the person's cases."""
    rows = (
        scoped_entries(user)
        .filter(person_subjects(person), action=AuditAction.READ)
        .values("actor_id", "actor_label")
        .annotate(reads=Count("id"), first=Min("at"), last=Max("at"))
        .order_by("-reads", "actor_label")[:READERS_LIMIT]
    )
    cases = Case.objects.filter(applicant=person)
    handlers = set(cases.exclude(assigned_to=None).values_list("assigned_to_id", flat=True))
    handlers |= set(CaseTransition.objects.filter(case__in=cases).values_list("by_id", flat=True))
    return [
        Reader(
            actor_id=r["actor_id"],
            actor_label=r["actor_label"],
            reads=r["reads"],
            first=r["first"],
            last=r["last"],
            handles_case=r["actor_id"] in handlers,
        )
        for r in rows
    ]


# --- unusual access -------------------------------------------------------------------------------------------


@dataclass
class Unusual:
    rule: str
    actor_id: int | None
    actor_label: str
    day: datetime.date
    count: int
    seq: int | None = None  # the one entry, for a rule about a single export

    @property
    def rule_text(self) -> str:
        return rule_text(self.rule)

    @property
    def action(self) -> str:
        return AuditAction.READ if self.rule in (Rule.MANY_OUTSIDE, Rule.NIGHT) else AuditAction.EXPORT


def unusual_range(
    params: Any, *, today: datetime.date
) -> tuple[datetime.date, datetime.date, dict[str, str]]:
    """The days to look at: by default the last UNUSUAL_DEFAULT_DAYS, at most UNUSUAL_MAX_DAYS."""
    errors: dict[str, str] = {}
    end = _date(errors, "date_to", params.get("date_to")) or today
    start = _date(errors, "date_from", params.get("date_from")) or end - datetime.timedelta(
        days=UNUSUAL_DEFAULT_DAYS - 1
    )
    if start > end:
        errors["date_to"] = _("结束日期不能早于开始日期。")
    elif (end - start).days >= UNUSUAL_MAX_DAYS:
        errors["date_from"] = _("一次最多查看 %(n)s 天。") % {"n": UNUSUAL_MAX_DAYS}
    return start, end, errors


def unusual_access(user: User, start: datetime.date, end: datetime.date) -> list[Unusual]:
    """Every access a rule flags between `start` and `end` (local days, inclusive), newest day first."""
    tz = timezone.get_current_timezone()
    window = scoped_entries(user).filter(
        at__gte=_day_start(start), at__lt=_day_start(end + datetime.timedelta(days=1)), actor__isnull=False
    )
    reads = window.filter(action=AuditAction.READ, object_type__in=PERSONAL_TYPES)
    exports = window.filter(action=AuditAction.EXPORT)
    day = TruncDate("at", tzinfo=tz)
    found = _many_outside(reads, day, tz)
    night = (
        reads.annotate(hour=ExtractHour("at", tzinfo=tz), day=day)
        .filter(Q(hour__gte=NIGHT_FROM) | Q(hour__lt=NIGHT_UNTIL))
        .values("actor_id", "actor_label", "day")
        .annotate(n=Count("id"))
    )
    found += [Unusual(Rule.NIGHT, r["actor_id"], r["actor_label"], r["day"], r["n"]) for r in night]
    for e in exports.filter(after__rows__gte=BULK_EXPORT_ROWS).order_by("seq"):
        local = timezone.localtime(e.at, tz).date()
        found.append(Unusual(Rule.BULK_EXPORT, e.actor_id, e.actor_label, local, e.after["rows"], seq=e.seq))
    frequent = (
        exports.annotate(day=day)
        .values("actor_id", "actor_label", "day")
        .annotate(n=Count("id"))
        .filter(n__gt=EXPORTS_PER_DAY)
    )
    found += [
        Unusual(Rule.FREQUENT_EXPORT, r["actor_id"], r["actor_label"], r["day"], r["n"]) for r in frequent
    ]
    order = [Rule.MANY_OUTSIDE, Rule.NIGHT, Rule.BULK_EXPORT, Rule.FREQUENT_EXPORT]
    found.sort(key=lambda u: (-u.day.toordinal(), order.index(u.rule), u.actor_label))
    return found


def _many_outside(reads: QuerySet[AuditEntry], day: Any, tz: Any) -> list[Unusual]:
    """Users whose distinct records read in a day, less those in cases they handle, reach the threshold.
    The database narrows to (user, day) pairs with that many distinct reads at all; only those few are
    compared with the user's cases."""
    subject = Concat("object_type", Value(":"), "object_id")
    candidates = (
        reads.annotate(day=day)
        .values("actor_id", "actor_label", "day")
        .annotate(n=Count(subject, distinct=True))
        .filter(n__gte=MANY_READS_PER_DAY)
    )
    found = []
    own_by_actor: dict[int, set[tuple[str, str]]] = {}
    for c in candidates:
        actor_id = c["actor_id"]
        if actor_id not in own_by_actor:
            own_by_actor[actor_id] = _own_subjects(actor_id)
        that_day = reads.filter(
            actor_id=actor_id,
            at__gte=_day_start(c["day"]),
            at__lt=_day_start(c["day"] + datetime.timedelta(days=1)),
        )
        subjects = set(that_day.values_list("object_type", "object_id").distinct())
        outside = len(subjects - own_by_actor[actor_id])
        if outside >= MANY_READS_PER_DAY:
            found.append(Unusual(Rule.MANY_OUTSIDE, actor_id, c["actor_label"], c["day"], outside))
    return found


def _own_subjects(actor_id: int) -> set[tuple[str, str]]:
    """The records of the cases a user handles or handled: assigned to them or moved on by them."""
    cases = Case.objects.filter(
        Q(assigned_to_id=actor_id) | Q(pk__in=CaseTransition.objects.filter(by_id=actor_id).values("case_id"))
    ).values_list("pk", "applicant_id", "household_id")
    own: set[tuple[str, str]] = set()
    for pk, applicant, household in cases:
        own.add(("intake.case", str(pk)))
        if applicant:
            own.add(("registry.person", str(applicant)))
        if household:
            own.add(("registry.household", str(household)))
    return own


# --- the chain, verified from the page ----------------------------------------------------------------------------

_ENTRY_RE = re.compile(r"^entry (\d+):")


@dataclass
class ChainCheck:
    result: VerifyResult
    at: datetime.datetime

    @property
    def first_broken(self) -> int | None:
        """The first entry named in a problem: where the chain breaks."""
        seqs = [int(m.group(1)) for p in self.result.problems if (m := _ENTRY_RE.match(p))]
        return min(seqs) if seqs else None


def check_chain(user: User) -> ChainCheck:
    """Verify the whole chain now and record that it was verified, by whom, and the outcome."""
    if not can_review(user):
        raise PermissionDenied
    result = verify_chain()
    check = ChainCheck(result=result, at=timezone.now())
    record(
        actor=user,
        action=AuditAction.ACTION,
        object_type="audit.chain",
        object_id="verify",
        region_path=user.region.path if user.region_id else "",
        after={
            "ok": result.ok,
            "checked": result.checked,
            "problems": len(result.problems),
            "first_broken": check.first_broken,
        },
        reason="audit review: chain verified from the console",
    )
    return check
