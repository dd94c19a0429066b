"""巡查发现人员的去向规则 (notice 二(三)): pure, no database, no clock.

A person found by a patrol with fever or a dry cough is referred at once to a centralised
quarantine-observation site (集中隔离观察点); anyone else is guided to a rescue-management station.
A station reaching its saturation threshold (a dated share of its capacity) alerts the district.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class Destination(models.TextChoices):
    QUARANTINE = "quarantine", gettext_lazy("转送集中隔离观察点")
    STATION = "station", gettext_lazy("引导至救助管理站")


@dataclass(frozen=True)
class Referral:
    destination: str
    reason: str


def refer(*, fever: bool, dry_cough: bool) -> Referral:
    """Where the person goes, with the reason in words."""
    symptoms = [s for s, present in ((_("发热"), fever), (_("干咳"), dry_cough)) if present]
    if symptoms:
        return Referral(
            Destination.QUARANTINE,
            _("有%(s)s症状，按通知二(三)立即转送集中隔离观察点") % {"s": "、".join(symptoms)},
        )
    return Referral(Destination.STATION, _("无发热、干咳症状，引导至救助管理站"))


def saturated(*, occupants: int, capacity: int, threshold_percent: int) -> bool:
    """A station is saturated when its occupants reach `threshold_percent` of its capacity (integer
    arithmetic: 108 of 120 at 90% is saturated, 107 is not)."""
    return capacity > 0 and occupants * 100 >= capacity * threshold_percent
