"""Emergency windows (疫情防控期间): who may declare and end, the rules, history, the policy overlay."""

import calendar
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.audit.models import AuditEntry
from doudi.regions import selectors
from doudi.regions.demo import load_demo_window
from doudi.regions.models import EmergencyWindow, EmergencyWindowEvent, WindowScope
from doudi.regions.services import declare_window, end_window

pytestmark = pytest.mark.django_db

D = date.fromisoformat


def declare(by, start="2020-01-24", end=None, districts=None, name="疫情防控期间"):
    return declare_window(
        by=by, name=name, start=D(start), end=D(end) if end else None, districts=districts, reason="一级响应"
    )


def test_only_municipal_admin_may_declare_and_end(regions, admin, officer_a, make_user):
    supervisor = make_user("sup", regions.city, "municipal_supervisor")
    for user in (officer_a, supervisor):
        with pytest.raises(PermissionDenied):
            declare(user)
    assert EmergencyWindow.objects.count() == 0
    window = declare(admin)
    assert window.scope == WindowScope.CITY and window.declared_by == admin
    with pytest.raises(PermissionDenied):
        end_window(window, D("2020-06-30"), officer_a, "解除")
    window.refresh_from_db()
    assert window.end is None


def test_end_before_start_is_refused(regions, admin):
    with pytest.raises(ValidationError) as exc:
        declare(admin, start="2020-03-01", end="2020-02-01")
    assert "end" in exc.value.message_dict
    window = declare(admin, start="2020-03-01")
    with pytest.raises(ValidationError) as exc:
        end_window(window, D("2020-02-29"), admin, "解除")
    assert "结束日期不能早于开始日期" in exc.value.message_dict["end"][0]
    window.refresh_from_db()
    assert window.end is None


def test_reason_is_required(regions, admin):
    with pytest.raises(ValidationError) as exc:
        declare_window(by=admin, name="x", start=D("2020-01-24"), reason=" ")
    assert "reason" in exc.value.message_dict


def test_overlapping_windows_are_refused(regions, admin):
    declare(admin, start="2020-01-24", end="2020-06-30")
    with pytest.raises(ValidationError):
        declare(admin, start="2020-06-30")  # shares one day
    declare(admin, start="2020-07-01", end="2020-07-31")  # adjacent is fine

    declare(admin, start="2020-02-01", end="2020-03-31", districts=[regions.a])  # overrides the city there
    with pytest.raises(ValidationError) as exc:
        declare(admin, start="2020-03-15", districts=[regions.a, regions.b])
    assert "万州区" in exc.value.message_dict["districts"][0]
    declare(admin, start="2020-03-15", districts=[regions.b])  # another district: fine
    assert EmergencyWindow.objects.count() == 4


def test_window_for_districts_must_list_districts(regions, admin):
    with pytest.raises(ValidationError) as exc:
        declare(admin, districts=[regions.a_t])
    assert "districts" in exc.value.message_dict


def test_ending_keeps_history_and_is_audited(regions, admin):
    window = declare(admin)
    end_window(window, D("2020-06-30"), admin, "市应急指挥部宣布解除")
    window.refresh_from_db()
    assert window.end == D("2020-06-30")
    events = list(selectors.window_history(window))
    assert [e.kind for e in events] == ["declared", "ended"]
    assert events[0].after["end"] is None
    assert events[1].before["end"] is None and events[1].after["end"] == "2020-06-30"
    assert events[1].reason == "市应急指挥部宣布解除" and events[1].by == admin
    audits = AuditEntry.objects.filter(object_type="regions.emergencywindow", object_id=str(window.pk))
    assert [a.action for a in audits] == ["create", "update"]
    assert audits[1].before["end"] is None and audits[1].after["end"] == "2020-06-30"
    with pytest.raises(PermissionError):
        events[0].save()
    with pytest.raises(ValidationError):
        end_window(window, D("2020-07-31"), admin, "再次结束")
    assert EmergencyWindowEvent.objects.filter(window=window).count() == 2


def test_policy_window_city_wide_vs_district_specific(regions, admin):
    assert selectors.policy_window_for("500101") is None
    city = declare(admin, start="2020-01-24")
    assert selectors.policy_window_for("500101") == (D("2020-01-24"), None)
    assert selectors.policy_window_for("500102") == (D("2020-01-24"), None)
    declare(admin, start="2020-01-24", end="2020-03-31", districts=[regions.a])
    assert selectors.policy_window_for("500101") == (D("2020-01-24"), D("2020-03-31"))
    assert selectors.policy_window_for("500102") == (D("2020-01-24"), None)
    # A household's village code resolves to its district.
    assert selectors.policy_window_for(regions.a_v.code) == (D("2020-01-24"), D("2020-03-31"))
    assert selectors.policy_windows_by_district(["500101", "500102"]) == {
        "500101": (D("2020-01-24"), D("2020-03-31")),
        "500102": (D("2020-01-24"), None),
    }
    assert selectors.window_for("500102", D("2020-05-01")) == city
    assert selectors.window_for("500101", D("2020-05-01")) is None


def test_policy_window_after_an_end_and_a_later_one(regions, admin):
    first = declare(admin, start="2020-01-24")
    end_window(first, D("2020-06-30"), admin, "解除")
    # Still the window that decides deferrals after it ended.
    assert selectors.policy_window_for("500101", on=D("2021-01-01")) == (D("2020-01-24"), D("2020-06-30"))
    declare(admin, start="2022-11-01", end="2022-12-31")
    assert selectors.policy_window_for("500101", on=D("2020-03-01")) == (D("2020-01-24"), D("2020-06-30"))
    assert selectors.policy_window_for("500101", on=D("2023-01-01")) == (D("2022-11-01"), D("2022-12-31"))


def test_month_is_in_window_if_any_day_is(regions, admin):
    declare(admin, start="2020-01-24", end="2020-03-10")

    def month(y, m):
        return D(f"{y}-{m:02d}-01"), D(f"{y}-{m:02d}-{calendar.monthrange(y, m)[1]}")

    assert selectors.windows_in_force(*month(2019, 12), "500101") == []
    assert selectors.windows_in_force(*month(2020, 1), "500101") == [(D("2020-01-24"), D("2020-03-10"))]
    assert selectors.windows_in_force(*month(2020, 3), "500101") != []
    assert selectors.windows_in_force(*month(2020, 4), "500101") == []


def test_demo_loads_policy_default_city_wide(regions):
    window = load_demo_window()
    assert load_demo_window() == window
    assert (window.scope, window.start, window.end) == (WindowScope.CITY, D("2020-01-24"), None)
    assert selectors.policy_window_for("500102") == (D("2020-01-24"), None)


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(D("2019-06-01"), D("2021-06-30")),
    length=st.one_of(st.none(), st.integers(0, 400)),
    first=st.dates(D("2019-01-01"), D("2022-12-01")),
)
def test_windows_in_force_matches_day_by_day(start, length, first):
    """POLICY.md: a month is in the window iff some day of it lies in [start, end]."""
    end = None if length is None else start + timedelta(days=length)
    first = first.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    window = EmergencyWindow(pk=1, name="w", start=start, end=end, scope=WindowScope.CITY)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    expected = any(start <= d and (end is None or d <= end) for d in days)
    assert bool(selectors.intervals_touching([window], first, last)) == expected
