"""The psychological-aid offer's rules (pure): its state machine, the follow-up due day, the long stay."""

import datetime

from hypothesis import given
from hypothesis import strategies as st

from doudi.care.rules import (
    PSYCH_AID_OPEN,
    PsychAidState,
    PsychAidStep,
    long_stay,
    psych_aid_due,
    psych_aid_next,
    psych_aid_steps_from,
)

states = st.sampled_from(PsychAidState.values)
steps = st.sampled_from(PsychAidStep.values)
days = st.dates(min_value=datetime.date(2019, 12, 1), max_value=datetime.date(2030, 12, 31))


@given(st.lists(steps, max_size=12))
def test_any_sequence_of_allowed_steps_follows_the_lifecycle(sequence):
    """From 已转介 only accept/decline; nothing follows 已结束; a follow-up needs an acceptance first;
    a declined offer is never followed up."""
    state, seen = PsychAidState.OFFERED, [PsychAidState.OFFERED]
    for step in sequence:
        target = psych_aid_next(state, step)
        if target is None:
            assert step not in psych_aid_steps_from(state)
            continue
        assert step in psych_aid_steps_from(state)
        state = target
        seen.append(state)
    if PsychAidState.FOLLOW_UP in seen:
        assert PsychAidState.ACCEPTED in seen[: seen.index(PsychAidState.FOLLOW_UP)]
        assert PsychAidState.DECLINED not in seen
    if PsychAidState.CLOSED in seen:
        assert seen[-1] == PsychAidState.CLOSED and seen.count(PsychAidState.CLOSED) == 1
    assert psych_aid_steps_from(PsychAidState.CLOSED) == ()


@given(states, steps)
def test_a_step_leads_somewhere_only_from_its_source_states(state, step):
    target = psych_aid_next(state, step)
    if state == PsychAidState.OFFERED:
        assert (target is not None) == (step in (PsychAidStep.ACCEPT, PsychAidStep.DECLINE))
    if step == PsychAidStep.CLOSE and target is not None:
        assert state in (PsychAidState.FOLLOW_UP, PsychAidState.DECLINED) and target == PsychAidState.CLOSED


@given(states, days, st.integers(min_value=1, max_value=60), st.one_of(st.none(), days))
def test_the_due_day_is_the_agreed_day_or_the_interval_after_the_last_and_none_when_nothing_is_owed(
    state, last, interval, agreed
):
    due = psych_aid_due(state, last, interval, agreed)
    if state not in PSYCH_AID_OPEN:
        assert due is None
    elif agreed is not None:
        assert due == agreed
    else:
        assert due == last + datetime.timedelta(days=interval) and due > last


@given(days, st.integers(min_value=-30, max_value=120), st.integers(min_value=1, max_value=60))
def test_a_stay_is_long_from_the_threshold_day_on(confirmed, length, threshold):
    discharged = confirmed + datetime.timedelta(days=length)
    assert long_stay(confirmed, discharged, threshold) == (length >= threshold)
    assert not long_stay(None, discharged, threshold)
