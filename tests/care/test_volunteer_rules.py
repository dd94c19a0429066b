"""The volunteers' rules over all inputs (hypothesis): the busiest day's load equals a day-by-day count,
`fits` is exactly "one more stays within capacity", the region distance is a tree metric, and the
suggestions come nearest region first, lighter load first at the same distance, never a full one."""

import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.volunteers import rules

BASE = datetime.date(2020, 2, 1)
days = st.integers(min_value=0, max_value=40).map(lambda n: BASE + datetime.timedelta(days=n))
periods = st.lists(st.tuples(days, days).map(lambda p: (min(p), max(p))), max_size=8)


def _count(periods, day):
    return sum(1 for first, last in periods if first <= day <= last)


@settings(deadline=None)  # no timed assertions: the machine is shared
@given(periods, days, days)
def test_peak_load_is_the_busiest_days_count(ps, a, b):
    start, end = min(a, b), max(a, b)
    brute = max(_count(ps, start + datetime.timedelta(days=i)) for i in range((end - start).days + 1))
    assert rules.peak_load(ps, start, end) == brute


@settings(deadline=None)  # no timed assertions: the machine is shared
@given(periods, days, days, st.integers(min_value=1, max_value=5))
def test_fits_means_no_day_over_capacity(ps, a, b, capacity):
    start, end = min(a, b), max(a, b)
    after = [*ps, (start, end)]
    every_day_ok = all(
        _count(after, start + datetime.timedelta(days=i)) <= capacity for i in range((end - start).days + 1)
    )
    assert rules.fits(capacity, ps, start, end) == every_day_ok


def test_back_to_back_periods_do_not_overlap():
    assert (
        rules.peak_load(
            [(BASE, BASE + datetime.timedelta(days=2))],
            BASE + datetime.timedelta(days=3),
            BASE + datetime.timedelta(days=9),
        )
        == 0
    )
    assert rules.peak_load([(BASE, BASE)], BASE, BASE) == 1
    assert rules.peak_load([], BASE, BASE - datetime.timedelta(days=1)) == 0


# A small tree: city 1 → districts 1x → townships 1xy → villages 1xyz.
paths = st.lists(st.sampled_from("123"), min_size=0, max_size=3).map(lambda s: "/".join(["5", *s]) + "/")


@settings(deadline=None)  # no timed assertions: the machine is shared
@given(paths, paths, paths)
def test_region_distance_is_a_tree_metric(a, b, c):
    assert rules.region_distance(a, a) == 0
    assert rules.region_distance(a, b) == rules.region_distance(b, a)
    assert rules.region_distance(a, c) <= rules.region_distance(a, b) + rules.region_distance(b, c)
    if b.startswith(a):  # an ancestor: the difference in depth
        assert rules.region_distance(a, b) == b.count("/") - a.count("/")


candidates = st.lists(
    st.builds(
        rules.Candidate,
        key=st.integers(),
        region_path=paths,
        skills_matched=st.integers(min_value=0, max_value=1),
        load=st.integers(min_value=0, max_value=3),
        capacity=st.integers(min_value=1, max_value=3),
        name=st.sampled_from(["甲", "乙", "丙"]),
    ),
    max_size=10,
)


@settings(deadline=None)  # no timed assertions: the machine is shared
@given(candidates, paths)
def test_ranking_nearest_first_never_full(cs, target):
    ranked = rules.rank(cs, target)
    assert all(c.load < c.capacity for c in ranked)
    assert len(ranked) == sum(1 for c in cs if c.load < c.capacity)
    keys = [(rules.region_distance(c.region_path, target), -c.skills_matched, c.load) for c in ranked]
    assert keys == sorted(keys)
