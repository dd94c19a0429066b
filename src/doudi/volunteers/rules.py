"""The two rules of volunteer assignment, pure (no Django): how many assignments a volunteer already
holds on the busiest day of a period (capacity: no double booking), and the order in which volunteers
are suggested for a person (nearest region first). Tested with hypothesis in tests/volunteers."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Period = tuple[datetime.date, datetime.date]  # first and last day, both inclusive


def peak_load(periods: Iterable[Period], start: datetime.date, end: datetime.date) -> int:
    """The largest number of `periods` covering one day of [start, end] (0 when none overlaps).

    A sweep over the periods' ends clipped to the window: +1 where a period starts, −1 the day after it
    ends; the maximum running sum is the busiest day."""
    if end < start:
        return 0
    deltas: dict[datetime.date, int] = {}
    one = datetime.timedelta(days=1)
    for first, last in periods:
        lo, hi = max(first, start), min(last, end)
        if lo > hi:
            continue
        deltas[lo] = deltas.get(lo, 0) + 1
        deltas[hi + one] = deltas.get(hi + one, 0) - 1
    running = peak = 0
    for day in sorted(deltas):
        running += deltas[day]
        peak = max(peak, running)
    return peak


def fits(capacity: int, periods: Iterable[Period], start: datetime.date, end: datetime.date) -> bool:
    """Whether one more assignment over [start, end] keeps every day within `capacity`."""
    return peak_load(periods, start, end) + 1 <= capacity


def region_distance(a: str, b: str) -> int:
    """Steps between two nodes of the region tree, from their materialised paths ("500000/500101/…/"):
    up from `a` to the nearest common node, then down to `b`. The same node is 0; a village's township 1;
    another village of that township 2; the district 2."""
    pa, pb = a.strip("/").split("/"), b.strip("/").split("/")
    common = 0
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            break
        common += 1
    return (len(pa) - common) + (len(pb) - common)


@dataclass(frozen=True)
class Candidate:
    """One volunteer or organisation that could be suggested: where it serves, the skills asked that it
    holds, how many assignments it carries on the busiest day of the period, and its capacity."""

    key: object
    region_path: str
    skills_matched: int
    load: int
    capacity: int
    name: str


def rank(candidates: Sequence[Candidate], target_path: str) -> list[Candidate]:
    """The suggestion order for a person living at `target_path`: those with room only (load below
    capacity), nearest region first; at the same distance more of the asked skills, then the lighter
    load, then by name (a stable order for the same facts)."""
    free = [c for c in candidates if c.load < c.capacity]
    return sorted(
        free,
        key=lambda c: (
            region_distance(c.region_path, target_path),
            -c.skills_matched,
            c.load,
            c.name,
            str(c.key),
        ),
    )
