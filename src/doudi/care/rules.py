"""入院（入岗）筛查规则 (notice 三(一)): pass / hold for observation / refuse, with the reason in words.

Pure: no database, no clock. The service matches the person's origin and 14-day trajectory against
the high-risk list in force (`match_areas`), then asks `screen` for the outcome. Every rule that
applies is named, so the record says everything that was found, not only the first problem.

- refuse (不予接收): a red health code; coming from a listed high-risk area (三(一): "暂停接收来自疫情
  高风险地区…人员"); a temperature at or above the fever line (37.3 ℃) — guided to a fever clinic.
- hold for observation (暂缓，留观): a yellow health code; a 14-day trajectory through a listed
  high-risk area (not the origin).
- pass (准予接收): green code, normal temperature, no high-risk place — and nothing else.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.core.text import clean_text

# 37.3 ℃: the fever line of the national COVID-19 prevention and control protocols (发热: 腋温≥37.3℃).
FEVER_LINE = Decimal("37.3")
# A reading outside this range is a typing or thermometer error, never a person's temperature.
TEMPERATURE_MIN = Decimal("34.0")
TEMPERATURE_MAX = Decimal("43.0")
# An area name shorter than this ("市", "区") would match almost every origin.
AREA_NAME_MIN = 2


class HealthCode(models.TextChoices):
    """渝康码 colour."""

    GREEN = "green", gettext_lazy("绿码")
    YELLOW = "yellow", gettext_lazy("黄码")
    RED = "red", gettext_lazy("红码")


class Outcome(models.TextChoices):
    PASS = "pass", gettext_lazy("准予接收")
    HOLD = "hold", gettext_lazy("暂缓接收，留观")
    REFUSE = "refuse", gettext_lazy("不予接收")


@dataclass(frozen=True)
class ScreeningFacts:
    """What the screener found: the high-risk areas the origin and the trajectory matched (names),
    the temperature (℃, within TEMPERATURE_MIN–MAX) and the health-code colour."""

    origin_areas: tuple[str, ...]
    trajectory_areas: tuple[str, ...]
    temperature: Decimal
    health_code: str


@dataclass(frozen=True)
class Decision:
    outcome: str
    reasons: tuple[str, ...]


def match_areas(place: str, areas: Iterable[str]) -> tuple[str, ...]:
    """The listed areas a place lies in: an area matches when its name is part of the place's name
    ("湖北省" matches "湖北省武汉市江汉区"); invisible characters and spacing are ignored."""
    place = clean_text(place).replace(" ", "")
    if not place:
        return ()
    found = []
    for area in areas:
        name = clean_text(area).replace(" ", "")
        if len(name) >= AREA_NAME_MIN and name in place and name not in found:
            found.append(name)
    return tuple(found)


def match_trajectory(places: Sequence[str], areas: Sequence[str]) -> tuple[str, ...]:
    found: list[str] = []
    for place in places:
        for name in match_areas(place, areas):
            if name not in found:
                found.append(name)
    return tuple(found)


def screen(facts: ScreeningFacts) -> Decision:
    """The outcome and every reason that led to it."""
    refuse: list[str] = []
    hold: list[str] = []
    if facts.health_code == HealthCode.RED:
        refuse.append(_("渝康码为红码"))
    elif facts.health_code == HealthCode.YELLOW:
        hold.append(_("渝康码为黄码，须留观并复核"))
    elif facts.health_code != HealthCode.GREEN:
        raise ValueError(f"unknown health code {facts.health_code!r}")
    if facts.origin_areas:
        refuse.append(
            _("来自高风险地区（%(areas)s），按通知三(一)暂停接收") % {"areas": "、".join(facts.origin_areas)}
        )
    if facts.temperature >= FEVER_LINE:
        refuse.append(
            _("体温 %(t)s ℃，达到发热标准（≥%(line)s ℃），应引导至发热门诊")
            % {"t": facts.temperature, "line": FEVER_LINE}
        )
    trajectory_only = tuple(a for a in facts.trajectory_areas if a not in facts.origin_areas)
    if trajectory_only:
        hold.append(
            _("14天内到过高风险地区（%(areas)s），须隔离观察") % {"areas": "、".join(trajectory_only)}
        )
    if refuse:
        return Decision(Outcome.REFUSE, tuple(refuse + hold))
    if hold:
        return Decision(Outcome.HOLD, tuple(hold))
    return Decision(
        Outcome.PASS,
        (_("绿码，体温 %(t)s ℃ 正常，14天内未到过高风险地区") % {"t": facts.temperature},),
    )


@dataclass(frozen=True)
class EscalationClock:
    """The hours-based clock of a report of a child left without guardianship (三(二)): when the
    township and the district had to acknowledge it, and when they did (None: not yet)."""

    township_due: datetime.datetime
    district_due: datetime.datetime
    township_done: datetime.datetime | None
    district_done: datetime.datetime | None


def late_levels(clock: EscalationClock, now: datetime.datetime) -> tuple[str, ...]:
    """The levels ("township", "district") whose acknowledgement is late at `now`: not given by the
    due time — whether still missing after it, or given after it."""
    late = []
    for level, due, done in (
        ("township", clock.township_due, clock.township_done),
        ("district", clock.district_due, clock.district_done),
    ):
        if (done is None and now > due) or (done is not None and done > due):
            late.append(level)
    return tuple(late)


# --- psychological aid (心理援助, notice 五): the offer's states and its follow-up clock -----------------


class PsychAidState(models.TextChoices):
    OFFERED = "offered", gettext_lazy("已转介，待联系")
    ACCEPTED = "accepted", gettext_lazy("同意接受")
    DECLINED = "declined", gettext_lazy("婉拒")
    FOLLOW_UP = "follow_up", gettext_lazy("跟进中")
    CLOSED = "closed", gettext_lazy("已结束")


class PsychAidStep(models.TextChoices):
    ACCEPT = "accept", gettext_lazy("同意接受")
    DECLINE = "decline", gettext_lazy("婉拒")
    FOLLOW_UP = "follow_up", gettext_lazy("回访")
    CLOSE = "close", gettext_lazy("结束跟进")


# offered → accepted | declined; accepted → (a follow-up contact) in follow-up → more contacts → closed;
# a declined offer is closed (with what the family said), never followed up.
PSYCH_AID_STEPS: dict[tuple[str, str], str] = {
    (PsychAidState.OFFERED, PsychAidStep.ACCEPT): PsychAidState.ACCEPTED,
    (PsychAidState.OFFERED, PsychAidStep.DECLINE): PsychAidState.DECLINED,
    (PsychAidState.ACCEPTED, PsychAidStep.FOLLOW_UP): PsychAidState.FOLLOW_UP,
    (PsychAidState.FOLLOW_UP, PsychAidStep.FOLLOW_UP): PsychAidState.FOLLOW_UP,
    (PsychAidState.FOLLOW_UP, PsychAidStep.CLOSE): PsychAidState.CLOSED,
    (PsychAidState.DECLINED, PsychAidStep.CLOSE): PsychAidState.CLOSED,
}
PSYCH_AID_OPEN = frozenset({PsychAidState.OFFERED, PsychAidState.ACCEPTED, PsychAidState.FOLLOW_UP})


def psych_aid_next(state: str, step: str) -> str | None:
    """The state a step leads to from `state`, or None when the step is not allowed there."""
    return PSYCH_AID_STEPS.get((state, step))


def psych_aid_steps_from(state: str) -> tuple[str, ...]:
    return tuple(step for (source, step) in PSYCH_AID_STEPS if source == state)


def psych_aid_due(
    state: str, last_on: datetime.date, interval_days: int, next_on: datetime.date | None = None
) -> datetime.date | None:
    """When the next contact with the family is due: the day the last contact set (`next_on`), else
    `interval_days` after the last step or contact (`last_on`); None once nothing is owed (declined,
    closed)."""
    if state not in PSYCH_AID_OPEN:
        return None
    if next_on is not None:
        return next_on
    return last_on + datetime.timedelta(days=interval_days)


def long_stay(confirmed_on: datetime.date | None, discharged_on: datetime.date, threshold_days: int) -> bool:
    """A hospital stay is long when it lasted `threshold_days` days or more (confirmation to discharge)."""
    return confirmed_on is not None and (discharged_on - confirmed_on).days >= threshold_days
