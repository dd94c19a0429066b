"""The pure rules: where a person found by a patrol goes, and when a station is saturated."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.rescue.rules import Destination, refer, saturated


@pytest.mark.parametrize(
    ("fever", "dry_cough", "destination", "words"),
    [
        (True, False, Destination.QUARANTINE, "发热"),
        (False, True, Destination.QUARANTINE, "干咳"),
        (True, True, Destination.QUARANTINE, "发热、干咳"),
        (False, False, Destination.STATION, "无发热、干咳"),
    ],
)
def test_refer_sends_fever_or_dry_cough_to_quarantine_with_the_reason(fever, dry_cough, destination, words):
    referral = refer(fever=fever, dry_cough=dry_cough)
    assert referral.destination == destination
    assert words in referral.reason


@pytest.mark.parametrize(
    ("occupants", "capacity", "pct", "expected"),
    [
        (108, 120, 90, True),  # exactly 90%
        (107, 120, 90, False),  # just below
        (120, 120, 100, True),
        (0, 120, 90, False),
        (0, 0, 90, False),  # no capacity: never saturated (and never divides by zero)
        (1, 1, 1, True),
    ],
)
def test_saturated_at_the_threshold_share_of_capacity(occupants, capacity, pct, expected):
    assert saturated(occupants=occupants, capacity=capacity, threshold_percent=pct) is expected


# --- properties over every input (hypothesis) --------------------------------------------------------------


@settings(deadline=None)
@given(fever=st.booleans(), dry_cough=st.booleans())
def test_refer_quarantines_exactly_when_a_symptom_is_present_and_names_each(fever, dry_cough):
    referral = refer(fever=fever, dry_cough=dry_cough)
    assert (referral.destination == Destination.QUARANTINE) is (fever or dry_cough)
    if fever or dry_cough:
        # Every symptom found is named in the reason, and no symptom that was not found.
        assert ("发热" in referral.reason) is fever
        assert ("干咳" in referral.reason) is dry_cough
    assert referral.reason


@settings(deadline=None)
@given(
    occupants=st.integers(min_value=0, max_value=100_000),
    capacity=st.integers(min_value=0, max_value=100_000),
    pct=st.integers(min_value=1, max_value=100),
)
def test_saturated_is_the_exact_share_of_capacity(occupants, capacity, pct):
    expected = capacity > 0 and Fraction(occupants, capacity) >= Fraction(pct, 100)
    assert saturated(occupants=occupants, capacity=capacity, threshold_percent=pct) is expected


@settings(deadline=None)
@given(
    occupants=st.integers(min_value=0, max_value=100_000),
    capacity=st.integers(min_value=1, max_value=100_000),
    pct=st.integers(min_value=1, max_value=100),
)
def test_one_more_occupant_never_clears_the_alert_and_a_full_station_always_alerts(occupants, capacity, pct):
    if saturated(occupants=occupants, capacity=capacity, threshold_percent=pct):
        assert saturated(occupants=occupants + 1, capacity=capacity, threshold_percent=pct)
    assert saturated(occupants=capacity, capacity=capacity, threshold_percent=pct)
