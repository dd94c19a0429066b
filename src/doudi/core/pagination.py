"""分页 without counting: keyset pages for the lists that grow with a province.

Django's Paginator counts the whole result and skips with OFFSET: at a million households both cost
more the further one reads. A keyset page asks for the rows after (or before) the last row seen, in the
list's own order, through the index that serves that order — the tenth page costs what the first does,
and nothing is counted. The link carries the boundary row's sort values in a signed cursor
(`?after=…` / `?before=…`); a cursor that does not verify is the first page, never an error.

Each ordering field sorts ascending, or descending when named with a leading "-" (newest first; a
descending field must not be nullable); a nullable one sorts its NULLs last on every database (SQLite
puts them first by default, PostgreSQL last), so the page boundaries agree on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import F, Model, Q, QuerySet

_SALT = "doudi.keyset"


@dataclass(frozen=True)
class KeysetPage:
    """One page: its rows and the cursors of its neighbours (None at an end)."""

    object_list: list[Any]
    number: int  # 1 for the first page; shown as "第 N 页" (there is no total to show)
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous


def ordering(fields: Sequence[str], model: type[Model]) -> list[Any]:
    """The ORDER BY of a keyset list: ascending ("-name": descending), NULLs last (pass it to `order_by`)."""
    return [_order(model, f, reverse=False) for f in fields]


def _order(model: type[Model], f: str, *, reverse: bool) -> Any:
    if f.startswith("-"):
        if _nullable(model, f):
            raise ValueError(f"a descending keyset field must not be nullable: {f}")
        return F(f[1:]).asc() if reverse else F(f[1:]).desc()
    if _nullable(model, f):
        return F(f).desc(nulls_first=True) if reverse else F(f).asc(nulls_last=True)
    return F(f).desc() if reverse else F(f).asc()


def keyset_page(
    qs: QuerySet, fields: Sequence[str], *, after: str = "", before: str = "", size: int = 50
) -> KeysetPage:
    """The page of `qs` after the cursor `after` (or before `before`; neither: the first page).

    `fields` is the list's total order, its last field unique (the primary key). The queryset's own
    ordering is replaced by it."""
    model = qs.model
    forward = True
    boundary: dict | None = None
    if after or before:
        boundary = _load(after or before, fields, model)
        forward = bool(after) or boundary is None
    if boundary is None:
        rows = list(qs.order_by(*ordering(fields, model))[: size + 1])
        return _page(rows, fields, size, number=1, came_from_previous=False)
    values = [boundary["v"][i] for i in range(len(fields))]
    number = boundary["n"]
    if forward:
        rows = list(qs.filter(_after(model, fields, values)).order_by(*ordering(fields, model))[: size + 1])
        return _page(rows, fields, size, number=number, came_from_previous=True)
    reverse = [_order(model, f, reverse=True) for f in fields]
    rows = list(qs.filter(_before(model, fields, values)).order_by(*reverse)[: size + 1])
    more_before = len(rows) > size
    rows = rows[:size][::-1]
    number = max(number, 1)
    return KeysetPage(
        object_list=rows,
        number=number,
        next_cursor=_dump(rows[-1], fields, number + 1, "a") if rows else None,
        previous_cursor=_dump(rows[0], fields, max(number - 1, 1), "b") if rows and more_before else None,
    )


def _page(
    rows: list, fields: Sequence[str], size: int, *, number: int, came_from_previous: bool
) -> KeysetPage:
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        object_list=rows,
        number=number,
        next_cursor=_dump(rows[-1], fields, number + 1, "a") if more else None,
        previous_cursor=_dump(rows[0], fields, number - 1, "b") if came_from_previous and rows else None,
    )


def _field_name(name: str) -> str:
    name = name.removeprefix("-")
    return "id" if name == "pk" else name


def _nullable(model: type[Model], name: str) -> bool:
    return bool(model._meta.get_field(_field_name(name)).null)


def _after(model: type[Model], fields: Sequence[str], values: list) -> Q:
    """Rows strictly after `values` in the ascending, NULLs-last order."""
    f, v = fields[0], values[0]
    rest = _after(model, fields[1:], values[1:]) if len(fields) > 1 else Q(pk__in=[])
    if f.startswith("-"):
        return Q(**{f"{f[1:]}__lt": v}) | (Q(**{f[1:]: v}) & rest)
    if v is None:  # only NULLs come after a NULL
        return Q(**{f"{f}__isnull": True}) & rest
    later = Q(**{f"{f}__gt": v})
    if _nullable(model, f):
        later |= Q(**{f"{f}__isnull": True})
    return later | (Q(**{f: v}) & rest)


def _before(model: type[Model], fields: Sequence[str], values: list) -> Q:
    """Rows strictly before `values` in the same order."""
    f, v = fields[0], values[0]
    rest = _before(model, fields[1:], values[1:]) if len(fields) > 1 else Q(pk__in=[])
    if f.startswith("-"):
        return Q(**{f"{f[1:]}__gt": v}) | (Q(**{f[1:]: v}) & rest)
    if v is None:
        return Q(**{f"{f}__isnull": False}) | (Q(**{f"{f}__isnull": True}) & rest)
    return Q(**{f"{f}__lt": v}) | (Q(**{f: v}) & rest)


def _dump(row: Model, fields: Sequence[str], number: int, direction: str) -> str:
    values = []
    for f in fields:
        value = getattr(row, _field_name(f))
        values.append(None if value is None else value.isoformat() if hasattr(value, "isoformat") else value)
    return signing.dumps({"v": values, "n": number, "d": direction}, salt=_SALT, compress=True)


def _load(token: str, fields: Sequence[str], model: type[Model]) -> dict | None:
    """The cursor's boundary values as Python values of the fields, or None if it does not verify."""
    try:
        data = signing.loads(str(token)[:2000], salt=_SALT)
        raw = data["v"]
        if not isinstance(raw, list) or len(raw) != len(fields) or not isinstance(data["n"], int):
            return None
        values = [
            None if v is None else model._meta.get_field(_field_name(f)).to_python(v)
            for f, v in zip(fields, raw, strict=True)
        ]
    except (signing.BadSignature, KeyError, TypeError, ValueError, ValidationError):
        return None  # a cursor that does not verify or parse is the first page
    return {"v": values, "n": max(1, min(data["n"], 10**6))}


@dataclass(frozen=True)
class CappedCount:
    """A count that stops at `cap`: "逾期 1000 件以上" costs what counting a thousand rows costs."""

    n: int
    more: bool  # there are more than n


def count_up_to(qs: QuerySet, cap: int = 1000) -> CappedCount:
    n = qs.order_by()[: cap + 1].count()
    return CappedCount(n=min(n, cap), more=n > cap)
