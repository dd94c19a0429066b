"""The pure rules: where a person found by a patrol goes, and when a station is saturated."""

import pytest

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
