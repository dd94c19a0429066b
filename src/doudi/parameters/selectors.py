"""Reads of policy parameters: the YAML defaults overlaid with the values the bureau stored.

Parameters are city-wide policy, not personal data: every staff user may read them; only the
municipal administrator writes them (services.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Max, QuerySet
from django.utils import timezone, translation

from doudi.parameters.models import ParameterValue, RegistrySnapshot, SimulationRun, decode_value
from doudi.policy.parameters import Entry, Parameter, ParameterSet, StoredValue, json_value, load_defaults
from doudi.regions.models import EmergencyWindowEvent
from doudi.regions.selectors import city_policy_window

# The overlaid set is rebuilt only when the stored rows change. Rows are insert-only, so
# (count, max id) identifies their state. Reading that stamp costs a database round trip (on SQLite a
# new connection per request), so outside a transaction it is re-read at most every
# STAMP_CHECK_SECONDS: the process that stores a value drops its cache at once (services), other
# worker processes see it within that delay. Inside a transaction (a service, a test) the stamp is
# always read, so a rolled-back write can never leave a stale set behind.
STAMP_CHECK_SECONDS = 1.0
_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"stamp": None, "params": None, "checked": 0.0}


def stored_overlay_records() -> list[StoredValue]:
    """Every stored value as an overlay record, oldest first, so a correction (a later revision of
    the same dated value) replaces what it corrects."""
    rows = ParameterValue.objects.order_by("effective_from", "revision", "pk").values_list(
        "name", "region", "effective_from", "value", "reference", "verified"
    )
    return [
        StoredValue(name, region or None, since, decode_value(value), reference, verified)
        for name, region, since, value, reference, verified in rows
    ]


WINDOW_REFERENCE = "市民政局宣布的疫情防控期间（控制台：疫情防控期间）"


def window_overlay_records() -> list[StoredValue]:
    """The declared city-wide emergency window as `emergency.window.*` values: a declaration in the
    console, not a separately stored parameter, decides which months are in the window."""
    window = city_policy_window()
    if window is None:
        return []
    start, end = window
    return [
        StoredValue("emergency.window.start", None, start, start, WINDOW_REFERENCE, True),
        StoredValue("emergency.window.end", None, start, end, WINDOW_REFERENCE, True),
    ]


def _stamp() -> tuple[int, int | None, int, int | None]:
    # Windows change by insert-only ledger events (declared, ended), so the ledger stamps them too.
    agg = ParameterValue.objects.aggregate(n=Count("id"), last=Max("id"))
    events = EmergencyWindowEvent.objects.aggregate(n=Count("id"), last=Max("id"))
    return agg["n"], agg["last"], events["n"], events["last"]


def current_parameters() -> ParameterSet:
    """The parameters in force for evaluations: YAML defaults + stored values (cached)."""
    params = _cache["params"]
    now = time.monotonic()
    if (
        params is not None
        and now - _cache["checked"] < STAMP_CHECK_SECONDS
        and not connection.in_atomic_block
    ):
        return params
    stamp = _stamp()
    if params is not None and _cache["stamp"] == stamp:
        _cache["checked"] = now
        return params
    params = load_defaults().overlay([*window_overlay_records(), *stored_overlay_records()])
    with _cache_lock:
        _cache.update(stamp=stamp, params=params, checked=now)
    return params


def invalidate_parameter_cache() -> None:
    with _cache_lock:
        _cache.update(stamp=None, params=None, checked=0.0)


# --- the catalogue shown in the console and by GET /api/v1/parameters ----------------------------


def _in_user_language(label: str, description: str, unit: str, en: Any) -> dict[str, str]:
    if (translation.get_language() or "").startswith("en") and en:
        return dict(en)
    return {"label": label, "description": description, "unit": unit}


def parameter_text(parameter: Parameter) -> dict[str, str]:
    """名称、说明、单位 in the user's language: the YAML's own (Chinese), or its `en` block."""
    return _in_user_language(parameter.label, parameter.description, parameter.unit, parameter.en)


def parameter_label(key: str) -> str:
    """The name shown for a parameter as an explanation cites it: `dibao.standard.urban` → 城市最低生活
    保障标准; a district's value (`covid.bereavement_assistance.500101`) adds the district code."""
    try:
        parameter, region = load_defaults().resolve(key)
    except KeyError:
        return key
    label = parameter_text(parameter)["label"]
    return f"{label}（{region}）" if region else label


@dataclass
class HistoryRow:
    """One dated value: a YAML default or a stored value (with who, when and why)."""

    since: date | None
    value: Any
    reference: str
    verified: bool
    source: str  # "default" | "stored"
    region: str = ""
    status: str | None = None
    stored_id: int | None = None
    revision: int | None = None
    reason: str = ""
    created_by: str = ""
    created_at: Any = None
    in_effect: bool = True  # False when replaced by a stored value (or a later correction) of the same date


@dataclass
class CurrentValue:
    region: str  # "" for the parameter itself / the city-wide default
    since: date | None
    value: Any
    reference: str
    verified: bool
    status: str | None = None


@dataclass
class ParameterInfo:
    """`label`, `description`, `unit` are the Chinese ones (the API's); `shown` is in the user's language."""

    name: str
    label: str
    description: str
    unit: str
    en: dict[str, str]
    type: str
    kind: str
    nullable: bool
    region_indexed: bool
    current: list[CurrentValue] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)

    @property
    def shown(self) -> dict[str, str]:
        return _in_user_language(self.label, self.description, self.unit, self.en)

    @property
    def unverified(self) -> bool:
        """Whether any value in force is unverified: POLICY.md wants that visibly flagged."""
        return any(not c.verified for c in self.current)

    @property
    def last_stored(self) -> HistoryRow | None:
        stored = [h for h in self.history if h.source == "stored"]
        return max(stored, key=lambda h: h.stored_id or 0) if stored else None


def _default_rows(parameter: Parameter) -> Iterable[HistoryRow]:
    def rows(entries: Iterable[Entry], region: str) -> Iterable[HistoryRow]:
        for e in entries:
            yield HistoryRow(
                since=e.since,
                value=json_value(e.value),
                reference=e.reference,
                verified=e.verified,
                source="default",
                region=region,
                status=e.status,
            )

    defaults = load_defaults()[parameter.name]
    yield from rows(defaults.values, "")
    for region, entries in sorted(defaults.by_region.items()):
        yield from rows(entries, region)


def _current_values(params: ParameterSet, parameter: Parameter, on: date) -> list[CurrentValue]:
    def as_current(region: str, pv: Any) -> CurrentValue:
        entry = params[parameter.name].entry_at(on, region or None)
        return CurrentValue(
            region=region,
            since=pv.since,
            value=json_value(pv.value),
            reference=pv.reference,
            verified=pv.verified,
            status=entry.status if entry else None,
        )

    if parameter.region_indexed:
        own, default = params.region_values(parameter.name, on)
        out = [as_current("", default)] if default is not None else []
        out += [as_current(region, pv) for region, pv in sorted(own.items())]
        return out
    pv = params.value_at(parameter.name, on)
    return [as_current("", pv)] if pv is not None else []


def parameter_catalogue(*, on: date | None = None, name: str | None = None) -> list[ParameterInfo]:
    """Every parameter (or just `name`) with the value(s) in force on `on` and the full history."""
    on = on or timezone.localdate()
    params = current_parameters()
    stored_qs = ParameterValue.objects.select_related("created_by").order_by(
        "name", "region", "effective_from", "revision", "pk"
    )
    if name is not None:
        stored_qs = stored_qs.filter(name=name)
    stored_by_name: dict[str, list[ParameterValue]] = {}
    for row in stored_qs:
        stored_by_name.setdefault(row.name, []).append(row)
    names = [name] if name is not None else list(params)
    out = []
    for n in names:
        parameter = params[n]
        stored = stored_by_name.get(n, [])
        latest_rev = {}
        for row in stored:
            latest_rev[(row.region, row.effective_from)] = row.pk
        history = []
        for h in _default_rows(parameter):
            h.in_effect = (h.region, h.since) not in latest_rev
            history.append(h)
        for row in stored:
            history.append(
                HistoryRow(
                    since=row.effective_from,
                    value=json_value(parameter.coerce(row.decoded)),
                    reference=row.reference,
                    verified=row.verified,
                    source="stored",
                    region=row.region,
                    stored_id=row.pk,
                    revision=row.revision,
                    reason=row.reason,
                    created_by=str(row.created_by) if row.created_by else "",
                    created_at=row.created_at,
                    in_effect=latest_rev[(row.region, row.effective_from)] == row.pk,
                )
            )
        history.sort(key=lambda h: (h.region, h.since or date.min, h.source == "stored", h.revision or 0))
        out.append(
            ParameterInfo(
                name=n,
                label=parameter.label,
                description=parameter.description,
                unit=parameter.unit,
                en=dict(parameter.en),
                type=str(parameter.type),
                kind=str(parameter.kind),
                nullable=parameter.nullable,
                region_indexed=parameter.region_indexed,
                current=_current_values(params, parameter, on),
                history=history,
            )
        )
    return out


# --- what-if simulations ------------------------------------------------------------------------------


def population_root() -> Path:
    """Where synthetic/extracted populations live: one sub-directory each (default: `synth`)."""
    return Path(settings.DOUDI_DATA_DIR)


def population_dirs() -> list[str]:
    """Names of the population directories a simulation may run on (never a free path): those holding
    a population (`households.parquet`), not the payroll's or the registry snapshots' folders."""
    root = population_root()
    if not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and (p / "households.parquet").is_file()
    )


REGISTRY = "registry"  # the what-if population "the registry as of now", frozen when the run starts
SNAPSHOT_PREFIX = "snapshot:"


def recent_snapshots(limit: int = 10) -> QuerySet[RegistrySnapshot]:
    return RegistrySnapshot.objects.order_by("-taken_at")[:limit]


def snapshot_of(population: str) -> RegistrySnapshot | None:
    """The registry snapshot a `snapshot:<id>` population names (None for anything else)."""
    if not population.startswith(SNAPSHOT_PREFIX):
        return None
    try:
        return RegistrySnapshot.objects.filter(pk=population.removeprefix(SNAPSHOT_PREFIX)).first()
    except ValidationError:  # not a UUID
        return None


def population_choices() -> list[tuple[str, str]]:
    """What a what-if may run on, as the form lists it: the registry now (frozen when the run starts),
    earlier registry snapshots, and the population directories (synthetic data)."""
    from django.utils.formats import date_format
    from django.utils.translation import gettext as _

    choices = [(REGISTRY, _("户籍库现状（运行时冻结快照）"))]
    for snap in recent_snapshots():
        taken = date_format(timezone.localtime(snap.taken_at), "Y-m-d H:i")
        label = _("户籍库快照 %(taken)s（%(households)s 户，%(persons)s 人）") % {
            "taken": taken,
            "households": snap.households,
            "persons": snap.persons,
        }
        choices.append((f"{SNAPSHOT_PREFIX}{snap.pk}", label))
    choices += [(name, _("模拟人口：%(name)s") % {"name": name}) for name in population_dirs()]
    return choices


def simulations_for(user: Any) -> QuerySet[SimulationRun]:
    """Runs are city-wide aggregates: every municipal user sees every run (others none)."""
    from doudi.parameters.services import may_simulate

    if not may_simulate(user):
        return SimulationRun.objects.none()
    return SimulationRun.objects.select_related("created_by", "snapshot").order_by("-created_at")


# --- 条例第9条: the dibao standard below the minimum wage ------------------------------------------------


def minimum_wage_warnings(params: ParameterSet | None = None) -> list[dict[str, Any]]:
    """Every span where a dibao standard in force (stored values included) is not below the minimum wage
    of a tier some district applies, for the console and `doudi check-parameters`: each with its date,
    the two parameters by name in the user's language, their values, and the districts of the tier."""
    from doudi.policy.checks import standard_not_below_minimum_wage

    problems = standard_not_below_minimum_wage(params or current_parameters())
    return [
        {
            "since": p.since,
            "standard_name": p.standard_name,
            "standard_label": parameter_label(p.standard_name),
            "standard": p.standard,
            "wage_name": p.wage_name,
            "wage_label": parameter_label(p.wage_name),
            "wage": p.wage,
            "tier": p.tier,
            "districts": [d for d in p.districts if d],
            "other_districts": None in p.districts,
        }
        for p in problems
    ]
