"""Reads: the tree, emergency windows (疫情防控期间) as the policy engine needs them, hotlines.

Emergency windows and published hotlines are public acts of the bureau, not personal data: every
staff user may read all windows, and anyone may read active hotlines. Staff *management* lists of
hotlines are region-scoped like everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from doudi.regions.models import (
    EmergencyWindow,
    EmergencyWindowEvent,
    Hotline,
    Region,
    RegionLevel,
    WindowScope,
)

Interval = tuple[date, date | None]


# ---------------------------------------------------------------------------------------------
# The tree


def districts() -> QuerySet[Region]:
    """The 41 区县 (38 with GB/T 2260 codes and the 3 functional zones), in code order."""
    return Region.objects.filter(level=RegionLevel.DISTRICT).order_by("code")


def regions_visible_to(user, *, max_level: int | None = None) -> QuerySet[Region]:
    qs = Region.objects.visible_to(user)
    return qs.filter(level__lte=max_level) if max_level else qs


# ---------------------------------------------------------------------------------------------
# Emergency windows


def _all_windows() -> list[EmergencyWindow]:
    return list(
        EmergencyWindow.objects.prefetch_related(Prefetch("districts", queryset=Region.objects.only("code")))
    )


def _overlap(a: EmergencyWindow, b: EmergencyWindow) -> bool:
    return (b.end is None or a.start <= b.end) and (a.end is None or b.start <= a.end)


def _district_code(code: str) -> str:
    """Accept a district code, or any node's code (the policy engine passes a household's region)."""
    if len(code) == 6:
        return code
    region = Region.objects.only("path").filter(code=code).first()
    return (region.district_code or code) if region else code[:6]


def _effective(windows: Sequence[EmergencyWindow], district_code: str) -> list[EmergencyWindow]:
    """The windows that apply to one district, oldest first.

    A window declared for listed districts overrides, for those districts, every city-wide window
    it overlaps (e.g. a district that ended its emergency earlier than the city). Declarations keep
    city-wide windows disjoint and a district's own windows disjoint, so the result is disjoint.
    """
    specific = [
        w
        for w in windows
        if w.scope == WindowScope.DISTRICTS and any(d.code == district_code for d in w.districts.all())
    ]
    city = [w for w in windows if w.scope == WindowScope.CITY and not any(_overlap(w, s) for s in specific)]
    return sorted([*specific, *city], key=lambda w: (w.start, w.pk))


def effective_windows(district_code: str) -> list[EmergencyWindow]:
    return _effective(_all_windows(), _district_code(district_code))


def window_for(district_code: str, on: date) -> EmergencyWindow | None:
    """The window in force for a district on a day (its own if it has one, else the city-wide one)."""
    for w in effective_windows(district_code):
        if w.start <= on and (w.end is None or on <= w.end):
            return w
    return None


def windows_in_force(period_first_day: date, period_last_day: date, district_code: str) -> list[Interval]:
    """(start, end) of each window touching [first, last] for the district; end None = still open.

    POLICY.md: a month is in the window if any day of it is in [start, end], so a non-empty answer
    for a month's first and last day means the month is in the window.
    """
    return intervals_touching(effective_windows(district_code), period_first_day, period_last_day)


def intervals_touching(windows: Iterable[EmergencyWindow], first: date, last: date) -> list[Interval]:
    """The (start, end) of the windows sharing at least one day with [first, last]."""
    return [(w.start, w.end) for w in windows if w.start <= last and (w.end is None or first <= w.end)]


def _policy_pick(effective: Sequence[EmergencyWindow], on: date) -> Interval | None:
    current = [w for w in effective if w.start <= on and (w.end is None or on <= w.end)]
    if current:
        return current[0].as_interval()
    started = [w for w in effective if w.start <= on]
    return started[-1].as_interval() if started else None


def policy_window_for(district_code: str, on: date | None = None) -> Interval | None:
    """The `emergency.window` (start, end|None) the policy engine should use for a district.

    The window in force on `on` (default today); when none is in force, the latest one that began
    before it (an ended window still decides deferrals after its end). None when the bureau has
    declared no window at all: the engine then keeps its shipped default (2020-01-24, open).
    """
    on = on or timezone.localdate()
    return _policy_pick(effective_windows(district_code), on)


def city_policy_window(on: date | None = None) -> Interval | None:
    """The city-wide `emergency.window` (start, end|None) for evaluations that are not per district
    (the §4 contract through the CLI and API); None when the bureau has declared none."""
    on = on or timezone.localdate()
    return _policy_pick([w for w in _all_windows() if w.scope == WindowScope.CITY], on)


def policy_windows_by_district(
    codes: Iterable[str] | None = None, on: date | None = None
) -> dict[str, Interval | None]:
    """policy_window_for for many districts in one query (payroll evaluates all 41 at once)."""
    on = on or timezone.localdate()
    windows = _all_windows()
    codes = list(codes) if codes is not None else list(districts().values_list("code", flat=True))
    return {c: _policy_pick(_effective(windows, c), on) for c in codes}


def windows_for_staff(user) -> QuerySet[EmergencyWindow]:
    """All declarations, newest first: every staff user may read them (public acts, no personal data)."""
    if not getattr(user, "is_authenticated", False):
        return EmergencyWindow.objects.none()
    return EmergencyWindow.objects.prefetch_related("districts").select_related("declared_by")


def window_history(window: EmergencyWindow) -> QuerySet[EmergencyWindowEvent]:
    return window.events.select_related("by").order_by("at", "id")


# ---------------------------------------------------------------------------------------------
# Hotlines


def hotlines_for(district_code: str | None = None, *, q: str = "") -> QuerySet[Hotline]:
    """Active published hotlines for the public: one district's with the city-wide ones, or all.

    `q` searches the hotline name, the district name and the number.
    """
    qs = Hotline.objects.filter(active=True).select_related("district")
    if district_code:
        qs = qs.filter(Q(district_id=district_code) | Q(district__level=RegionLevel.MUNICIPALITY))
    if q:
        qs = qs.filter(
            Q(name__icontains=q)
            | Q(district__name__icontains=q)
            | Q(phone__icontains=q)
            | Q(note__icontains=q)
        )
    return qs.order_by("district__level", "district__code", "sort_order", "name", "id")


def city_hotlines() -> QuerySet[Hotline]:
    """The city-wide lines alone (全市): what a citizen sees before choosing a district."""
    return hotlines_for().filter(district__level=RegionLevel.MUNICIPALITY)


def hotline_districts() -> QuerySet[Region]:
    """The districts that have an active hotline (the public page's filter)."""
    return (
        Region.objects.filter(level=RegionLevel.DISTRICT, hotlines__active=True).distinct().order_by("code")
    )


def hotlines_visible_to(
    user, *, district_code: str | None = None, include_inactive: bool = True
) -> QuerySet[Hotline]:
    """Staff management list, limited to the user's subtree."""
    qs = Hotline.objects.visible_to(user).select_related("district")
    if district_code:
        qs = qs.filter(district_id=district_code)
    if not include_inactive:
        qs = qs.filter(active=True)
    return qs.order_by("district__level", "district__code", "sort_order", "name", "id")
