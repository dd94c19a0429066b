"""Policy parameters (政策参数): dated values with their source, loaded from YAML and overlaid.

One YAML file per parameter; its path is its dotted name (``dibao/standard/urban.yaml`` →
``dibao.standard.urban``). A file reads like the regulation it comes from::

    label: 城市最低生活保障标准
    description: 城市居民家庭的低保标准：家庭月人均收入低于此标准的，按差额补足。
    metadata: {unit: 元/人/月}
    type: money                    # money | ratio | percent | count | date
    en: {label: Urban minimum living standard, description: …, unit: CNY per person per month}
    values:
      2019-07-01:
        value: 546
        metadata: {reference: "…source…", verified: false}

Optional top-level keys: ``kind`` (``value`` — the default: a value carries forward from its date
until the next one; ``monthly_series`` — each month has its own value and a month without one is
*missing*, never carried forward; ``declaration`` — a dated declaration such as the emergency window,
whose latest value applies to every period), ``nullable: true`` (``value: null`` allowed, e.g. an
open window end), ``en`` (the English label, description and unit, for the English interface; the
Chinese ones are the parameter's own) and ``by_region`` (a region-indexed parameter: a dated series per 6-digit district
code; ``values`` is then the optional city-wide default).

A :class:`ParameterSet` is immutable. :meth:`ParameterSet.overlay` adds the bureau's stored dated
values; :meth:`ParameterSet.with_overrides` fixes values for one evaluation, whatever the date.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple, TypeAlias

import yaml

from doudi.policy.money import yuan_to_fen

Value: TypeAlias = int | Decimal | date | None

DEFAULTS_DIR = Path(__file__).parent
OVERRIDE_REFERENCE = "override for this evaluation"
_NAME_PART = re.compile(r"[a-z][a-z0-9_]*")
_REGION = re.compile(r"\d{6}")
_MAX_MONEY = Decimal(10) ** 8  # yuan; keeps every int64 product in the rules far from overflow
_MAX_RATIO = Decimal(1000)
_MAX_COUNT = 10_000


class ParameterError(ValueError):
    """A parameter file, stored value or override is malformed, or a needed value is missing."""


class ParameterMissing(ParameterError):
    """A parameter the rules need has no value in force on the date asked."""

    def __init__(self, name: str, on: date) -> None:
        super().__init__(f"{name} has no value in force on {on.isoformat()}")
        self.name, self.on = name, on


class ValueType(StrEnum):
    MONEY = "money"  # yuan, at most 2 decimals, ≥ 0
    RATIO = "ratio"  # a factor ≥ 0 (rate, multiplier, share)
    PERCENT = "percent"  # a percentage, may be negative (price index rise)
    COUNT = "count"  # a whole number ≥ 0
    DATE = "date"


class Kind(StrEnum):
    VALUE = "value"
    MONTHLY_SERIES = "monthly_series"
    DECLARATION = "declaration"


@dataclass(frozen=True)
class Entry:
    """One dated value; ``since`` is ``None`` for an evaluation override."""

    since: date | None
    value: Value
    reference: str
    verified: bool
    status: str | None = None


@dataclass(frozen=True)
class ParameterValue:
    """A value as read by a rule, with everything the explanation shows about it."""

    name: str
    value: Value
    since: date | None
    reference: str
    verified: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": json_value(self.value),
            "since": self.since.isoformat() if self.since else None,
            "reference": self.reference,
            "verified": self.verified,
        }

    @property
    def number(self) -> Decimal:
        assert isinstance(self.value, int | Decimal), self
        return Decimal(self.value)

    @property
    def count(self) -> int:
        assert isinstance(self.value, int), self
        return self.value

    @property
    def day(self) -> date | None:
        assert self.value is None or isinstance(self.value, date), self
        return self.value

    @property
    def fen(self) -> int:
        assert isinstance(self.value, int | Decimal), self
        return yuan_to_fen(self.value)

    @property
    def ratio(self) -> Fraction:
        assert isinstance(self.value, int | Decimal), self
        return Fraction(self.value)


def json_value(value: Value) -> int | float | str | None:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


class StoredValue(NamedTuple):
    """A dated value kept outside the YAML defaults (the bureau's database), to overlay."""

    name: str
    region: str | None
    effective_date: date
    value: Value
    reference: str
    verified: bool


@dataclass(frozen=True)
class Parameter:
    """``label`` (名称), ``description`` and ``unit`` are Chinese; ``en`` has the English ones."""

    name: str
    description: str
    unit: str
    type: ValueType
    label: str = ""
    en: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    reference: str | None = None
    kind: Kind = Kind.VALUE
    nullable: bool = False
    region_indexed: bool = False
    values: tuple[Entry, ...] = ()
    by_region: Mapping[str, tuple[Entry, ...]] = field(default_factory=lambda: MappingProxyType({}))
    override: Entry | None = None
    region_overrides: Mapping[str, Entry] = field(default_factory=lambda: MappingProxyType({}))

    def coerce(self, value: object) -> Value:
        """The value as this parameter's type, or ``ValueError`` saying what is expected."""
        return coerce_value(self.type, value, nullable=self.nullable)

    def entry_at(self, on: date, region: str | None = None) -> Entry | None:
        if region is not None and region in self.region_overrides:
            return self.region_overrides[region]
        if self.override is not None:
            return self.override
        if region is not None and (found := self._dated(self.by_region.get(region, ()), on)):
            return found
        return self._dated(self.values, on)

    def _dated(self, entries: tuple[Entry, ...], on: date) -> Entry | None:
        if self.kind is Kind.DECLARATION:
            return entries[-1] if entries else None
        if self.kind is Kind.MONTHLY_SERIES:
            month = on.replace(day=1)
            return next((e for e in entries if e.since == month), None)
        found = None
        for entry in entries:
            assert entry.since is not None
            if entry.since > on:
                break
            found = entry
        return found


def coerce_value(kind: ValueType, value: object, *, nullable: bool = False) -> Value:
    if value is None:
        if nullable:
            return None
        raise ValueError("expected a value, got null")
    if kind is ValueType.DATE:
        if isinstance(value, str):
            return parse_iso_date(value)
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise ValueError(f"expected a number ({kind}), got {value!r}")
    number: int | Decimal = Decimal(repr(value)) if isinstance(value, float) else value
    places = 0
    if isinstance(number, Decimal):
        exponent = number.as_tuple().exponent
        if not isinstance(exponent, int):
            raise ValueError(f"expected a finite number, got {value!r}")
        places = max(0, -exponent)
    if kind is ValueType.COUNT:
        if number != int(number) or not 0 <= number <= _MAX_COUNT:
            raise ValueError(f"expected a whole number from 0 to {_MAX_COUNT}, got {value!r}")
        return int(number)
    if kind is ValueType.MONEY:
        if number < 0 or number > _MAX_MONEY or places > 2:
            raise ValueError(f"expected yuan ≥ 0 with at most 2 decimals, got {value!r}")
    elif places > 4 or not -_MAX_RATIO <= number <= _MAX_RATIO or (kind is ValueType.RATIO and number < 0):
        sign = "≥ 0" if kind is ValueType.RATIO else "from -1000 to 1000"
        raise ValueError(f"expected a {kind} {sign} with at most 4 decimals, got {value!r}")
    return int(number) if isinstance(number, int) else number


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_iso_date(text: str) -> date:
    """A strict ``YYYY-MM-DD`` date (``date.fromisoformat`` alone also takes other ISO forms)."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a calendar date") from None


class ParameterSet(Mapping[str, Parameter]):
    """All parameters by dotted name; immutable: overlays and overrides return a new set."""

    def __init__(self, parameters: Mapping[str, Parameter]) -> None:
        self._parameters = MappingProxyType(dict(sorted(parameters.items())))

    def __getitem__(self, name: str) -> Parameter:
        return self._parameters[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __len__(self) -> int:
        return len(self._parameters)

    def value_at(self, name: str, on: date, region: str | None = None) -> ParameterValue | None:
        """The value of ``name`` in force on ``on`` (for ``region`` if region-indexed), or ``None``."""
        parameter = self._parameters[name]
        if region is not None and not parameter.region_indexed:
            raise ParameterError(f"{name} is not region-indexed")
        entry = parameter.entry_at(on, region)
        if entry is None:
            return None
        shown = f"{name}.{region}" if region is not None else name
        return ParameterValue(shown, entry.value, entry.since, entry.reference, entry.verified)

    def region_values(self, name: str, on: date) -> tuple[dict[str, ParameterValue], ParameterValue | None]:
        """Values of a region-indexed parameter on ``on``: per district with its own, and the default."""
        parameter = self._parameters[name]
        own = {r: self.value_at(name, on, r) for r in {*parameter.by_region, *parameter.region_overrides}}
        return {r: v for r, v in own.items() if v is not None}, self.value_at(name, on)

    def resolve(self, key: str) -> tuple[Parameter, str | None]:
        """``name`` or, for a region-indexed parameter, ``name.<district code>``; ``KeyError`` if unknown."""
        if key in self._parameters:
            return self._parameters[key], None
        name, _, region = key.rpartition(".")
        parameter = self._parameters.get(name)
        if parameter is None or not parameter.region_indexed or not _REGION.fullmatch(region):
            raise KeyError(key)
        return parameter, region

    def overlay(self, records: Iterable[StoredValue | tuple[Any, ...]]) -> ParameterSet:
        """Add dated values ``(name, region_or_None, effective_date, value, reference, verified)``.

        A stored value on the same date as a default replaces it. Raises :class:`ParameterError`.
        """
        by_name: dict[str, Parameter] = dict(self._parameters)
        for raw in records:
            record = StoredValue(*raw)
            where = f"stored value {record.name}" + (f" for {record.region}" if record.region else "")
            parameter = by_name.get(record.name)
            if parameter is None:
                raise ParameterError(f"{where}: unknown parameter")
            if record.region is not None and not (
                parameter.region_indexed and _REGION.fullmatch(record.region)
            ):
                raise ParameterError(f"{where}: not a region-indexed parameter with a 6-digit district code")
            if not isinstance(record.effective_date, date) or isinstance(record.effective_date, datetime):
                raise ParameterError(f"{where}: effective_date must be a date")
            if parameter.kind is Kind.MONTHLY_SERIES and record.effective_date.day != 1:
                raise ParameterError(f"{where}: a monthly series value is dated on the 1st of its month")
            try:
                value = parameter.coerce(record.value)
            except ValueError as error:
                raise ParameterError(f"{where}: {error}") from None
            entry = Entry(record.effective_date, value, str(record.reference), bool(record.verified))
            if record.region is None:
                by_name[record.name] = replace(parameter, values=_insert(parameter.values, entry))
            else:
                series = dict(parameter.by_region)
                series[record.region] = _insert(series.get(record.region, ()), entry)
                by_name[record.name] = replace(parameter, by_region=MappingProxyType(series))
        return ParameterSet(by_name)

    def with_overrides(self, overrides: Mapping[str, object]) -> ParameterSet:
        """Fix parameters for one evaluation, whatever the date: ``{"emergency.window.end": "2020-06-30"}``.

        Raises :class:`OverrideError` listing every unknown name and badly typed value.
        """
        by_name: dict[str, Parameter] = dict(self._parameters)
        problems: list[tuple[str, str]] = []
        for key, raw in overrides.items():
            try:
                parameter, region = self.resolve(key)
            except KeyError:
                problems.append((key, f"unknown parameter {key!r}"))
                continue
            try:
                entry = Entry(None, parameter.coerce(raw), OVERRIDE_REFERENCE, False)
            except ValueError as error:
                problems.append((key, f"{key}: {error}"))
                continue
            current = by_name[parameter.name]
            if region is None:
                by_name[parameter.name] = replace(current, override=entry)
            else:
                regional = {**current.region_overrides, region: entry}
                by_name[parameter.name] = replace(current, region_overrides=MappingProxyType(regional))
        if problems:
            raise OverrideError(problems)
        return ParameterSet(by_name)


class OverrideError(ParameterError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


def _insert(entries: tuple[Entry, ...], new: Entry) -> tuple[Entry, ...]:
    kept = [e for e in entries if e.since != new.since]
    return tuple(sorted([*kept, new], key=lambda e: e.since or date.min))


# --- loading YAML ---------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML with exact decimals and no silently overwritten duplicate keys."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise yaml.constructor.ConstructorError(None, None, f"not a finite number: {text}", node.start_mark)
    return number


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key}", key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)

_TOP_KEYS = {"label", "description", "metadata", "type", "en", "kind", "nullable", "values", "by_region"}
_EN_KEYS = {"label", "description", "unit"}
_METADATA_KEYS = {"unit", "reference"}
_ENTRY_KEYS = {"value", "metadata"}
_ENTRY_METADATA_KEYS = {"reference", "verified", "status"}


def load_file(path: Path, name: str) -> Parameter:
    """Read one parameter file; :class:`ParameterError` names the file and the offending key."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - safe loader
    except yaml.YAMLError as error:
        raise ParameterError(f"{path}: {error}") from None
    except ValueError as error:  # a date-like scalar that is not a calendar date
        raise ParameterError(f"{path}: not a calendar date: {error}") from None
    return _FileReader(path, name).parameter(document)


@dataclass
class _FileReader:
    path: Path
    name: str

    def fail(self, key: str, message: str) -> ParameterError:
        return ParameterError(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")

    def mapping(self, value: object, key: str, allowed: set[str], required: set[str]) -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "expected a mapping")
        for unknown in sorted(set(map(str, value)) - allowed):
            raise self.fail(
                f"{key}.{unknown}" if key else unknown, f"unknown key (allowed: {sorted(allowed)})"
            )
        for missing in sorted(required - set(value)):
            raise self.fail(f"{key}.{missing}" if key else missing, "required key is missing")
        return value

    def text(self, value: object, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "expected a non-empty text")
        return value

    def parameter(self, document: object) -> Parameter:
        doc = self.mapping(document, "", _TOP_KEYS, {"label", "description", "metadata", "type", "en"})
        metadata = self.mapping(doc["metadata"], "metadata", _METADATA_KEYS, {"unit"})
        english = self.mapping(doc["en"], "en", _EN_KEYS, _EN_KEYS)
        try:
            value_type = ValueType(doc["type"])
            kind = Kind(doc.get("kind", Kind.VALUE))
        except ValueError as error:
            raise self.fail("type/kind", str(error)) from None
        nullable = doc.get("nullable", False)
        if not isinstance(nullable, bool):
            raise self.fail("nullable", "expected true or false")
        parameter = Parameter(
            name=self.name,
            description=self.text(doc["description"], "description"),
            unit=self.text(metadata["unit"], "metadata.unit"),
            type=value_type,
            label=self.text(doc["label"], "label"),
            en=MappingProxyType({key: self.text(english[key], f"en.{key}") for key in sorted(_EN_KEYS)}),
            reference=self.text(metadata["reference"], "metadata.reference")
            if "reference" in metadata
            else None,
            kind=kind,
            nullable=nullable,
            region_indexed="by_region" in doc,
        )
        values = self.series(parameter, doc.get("values", {}), "values")
        if not values and not parameter.region_indexed:
            raise self.fail("values", "a parameter needs at least one dated value")
        regions: dict[str, tuple[Entry, ...]] = {}
        by_region = doc.get("by_region") or {}
        if not isinstance(by_region, dict):
            raise self.fail("by_region", "expected a mapping of district codes")
        for region, series in by_region.items():
            if not isinstance(region, str) or not _REGION.fullmatch(region):
                raise self.fail(f"by_region.{region}", "expected a quoted 6-digit district code")
            regions[region] = self.series(parameter, series, f"by_region.{region}")
        return replace(parameter, values=values, by_region=MappingProxyType(regions))

    def series(self, parameter: Parameter, raw: object, key: str) -> tuple[Entry, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, dict):
            raise self.fail(key, "expected a mapping of dates to values")
        entries: list[Entry] = []
        for since, item in raw.items():
            where = f"{key}.{since}"
            if not isinstance(since, date) or isinstance(since, datetime):
                raise self.fail(where, "expected a date YYYY-MM-DD as key")
            if entries and entries[-1].since is not None and since <= entries[-1].since:
                raise self.fail(where, f"dates must be in increasing order (after {entries[-1].since})")
            if parameter.kind is Kind.MONTHLY_SERIES and since.day != 1:
                raise self.fail(where, "a monthly series value is dated on the 1st of its month")
            body = self.mapping(item, where, _ENTRY_KEYS, {"value", "metadata"})
            meta = self.mapping(
                body["metadata"], f"{where}.metadata", _ENTRY_METADATA_KEYS, {"reference", "verified"}
            )
            try:
                value = parameter.coerce(body["value"])
            except ValueError as error:
                raise self.fail(f"{where}.value", str(error)) from None
            if not isinstance(meta["verified"], bool):
                raise self.fail(f"{where}.metadata.verified", "expected true or false")
            status = meta.get("status")
            if status is not None and not isinstance(status, str):
                raise self.fail(f"{where}.metadata.status", "expected a text")
            entries.append(
                Entry(
                    since,
                    value,
                    self.text(meta["reference"], f"{where}.metadata.reference"),
                    meta["verified"],
                    status,
                )
            )
        return tuple(entries)


def load_directory(root: Path) -> ParameterSet:
    """Every ``*.yaml`` under ``root``, named by its path."""
    parameters: dict[str, Parameter] = {}
    for path in sorted(root.rglob("*.yaml")):
        parts = path.relative_to(root).with_suffix("").parts
        if not all(_NAME_PART.fullmatch(part) for part in parts):
            raise ParameterError(f"{path}: file and folder names must be lower_snake_case")
        name = ".".join(parts)
        parameters[name] = load_file(path, name)
    return ParameterSet(parameters)


@functools.cache
def load_defaults() -> ParameterSet:
    """The defaults shipped with doudi (POLICY.md §2)."""
    return load_directory(DEFAULTS_DIR)
