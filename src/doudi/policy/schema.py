"""A small schema language: one description of the input gives both its validator and its JSON Schema.

``parse`` never stops at the first problem: it appends ``{"path", "message"}`` to ``errors`` for every
problem found and returns :data:`INVALID` for the parts it could not read.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from doudi.policy.money import yuan_to_fen
from doudi.policy.parameters import parse_iso_date
from doudi.policy.periods import Period

Errors = list[dict[str, str]]


class _Invalid:
    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()
MAX_YUAN = Decimal(10) ** 8


def key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def fail(errors: Errors, path: str, message: str) -> Any:
    errors.append({"path": path, "message": message})
    return INVALID


class Field(ABC):
    description: str = ""

    @abstractmethod
    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        """The value as Python, or :data:`INVALID` after appending the problems to ``errors``."""

    @abstractmethod
    def json_schema(self) -> dict[str, Any]:
        """This field as JSON Schema (draft 2020-12)."""

    def _described(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": self.description, **schema} if self.description else schema


@dataclass
class Identifier(Field):
    description: str = ""

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            return fail(errors, path, "expected a non-empty string or an integer id")
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": ["string", "integer"], "minLength": 1})


@dataclass
class Text(Field):
    pattern: str
    hint: str
    description: str = ""

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, str) or not re.fullmatch(self.pattern, value):
            return fail(errors, path, f"expected {self.hint}, got {value!r}")
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "string", "pattern": f"^{self.pattern}$"})


@dataclass
class OneOf(Field):
    values: tuple[str, ...]
    description: str = ""

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if value not in self.values or not isinstance(value, str):
            return fail(errors, path, f"unknown value {value!r}: expected one of {', '.join(self.values)}")
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._described({"enum": list(self.values)})


@dataclass
class Flag(Field):
    description: str = ""

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, bool):
            return fail(errors, path, f"expected true or false, got {value!r}")
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "boolean"})


@dataclass
class Count(Field):
    description: str = ""
    maximum: int = 10_000

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        number = _number(value)
        if number is None or number != number.to_integral_value():
            return fail(errors, path, f"expected a whole number, got {value!r}")
        if not 0 <= number <= self.maximum:
            return fail(errors, path, f"expected a whole number from 0 to {self.maximum}, got {value}")
        return int(number)

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "integer", "minimum": 0, "maximum": self.maximum})


@dataclass
class Money(Field):
    """Yuan ≥ 0 with at most 2 decimals (``whole``: whole yuan); parsed to integer fen."""

    description: str = ""
    whole: bool = False

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        amount = _number(value)
        if amount is None:
            return fail(errors, path, f"expected an amount in yuan, got {value!r}")
        if amount < 0:
            return fail(errors, path, f"money must not be negative, got {value}")
        if amount > MAX_YUAN:
            return fail(errors, path, f"amount {value} is larger than {MAX_YUAN} yuan")
        if self.whole and amount != amount.to_integral_value():
            return fail(errors, path, f"expected whole yuan (a paid amount), got {value}")
        try:
            return yuan_to_fen(amount)
        except ValueError:
            return fail(errors, path, f"expected at most 2 decimals (fen), got {value}")

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"minimum": 0, "maximum": int(MAX_YUAN)}
        schema |= {"type": "integer"} if self.whole else {"type": "number", "multipleOf": 0.01}
        return self._described(schema)


@dataclass
class Day(Field):
    description: str = ""

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, str):
            return fail(errors, path, f"expected a date YYYY-MM-DD, got {value!r}")
        try:
            return parse_iso_date(value)
        except ValueError as error:
            return fail(errors, path, str(error))

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"})


@dataclass
class Month(Field):
    description: str = ""

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, str):
            return fail(errors, path, f"expected a period YYYY-MM, got {value!r}")
        try:
            return Period.parse(value)
        except ValueError as error:
            return fail(errors, path, str(error))

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"})


@dataclass
class Nullable(Field):
    inner: Field
    description: str = ""

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        return None if value is None else self.inner.parse(value, path, errors)

    def json_schema(self) -> dict[str, Any]:
        return self._described({"anyOf": [self.inner.json_schema(), {"type": "null"}]})


@dataclass
class ListOf(Field):
    item: Field
    description: str = ""

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, list):
            return fail(errors, path, "expected an array")
        return [self.item.parse(item, f"{path}[{i}]", errors) for i, item in enumerate(value)]

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "array", "items": self.item.json_schema()})


@dataclass
class AnyObject(Field):
    """An object whose members the caller checks (e.g. parameter overrides)."""

    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict)

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, dict):
            return fail(errors, path, "expected an object")
        return value

    def json_schema(self) -> dict[str, Any]:
        return self._described({"type": "object", **self.schema})


@dataclass
class Prop:
    field: Field
    required: bool = False
    default: Any = None


@dataclass
class Obj(Field):
    """An object with known members only; a missing optional member takes its default (an absent
    optional object is read as ``{}`` so its own members take theirs). ``check`` adds cross-field rules."""

    props: Mapping[str, Prop]
    description: str = ""
    check: Callable[[dict[str, Any], str, Errors], None] | None = None
    extra_schema: dict[str, Any] = field(default_factory=dict)

    def parse(self, value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, dict):
            return fail(errors, path, "expected an object")
        for unknown in value.keys() - self.props.keys():
            fail(errors, key_path(path, str(unknown)), f"unknown field {unknown!r}")
        parsed: dict[str, Any] = {}
        for name, prop in self.props.items():
            child = key_path(path, name)
            if name in value:
                parsed[name] = prop.field.parse(value[name], child, errors)
            elif prop.required:
                parsed[name] = fail(errors, child, "required field is missing")
            elif isinstance(prop.field, Obj):
                parsed[name] = prop.field.parse({}, child, errors)
            else:
                parsed[name] = prop.default
        if self.check is not None:
            self.check(parsed, path, errors)
        return parsed

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {name: prop.field.json_schema() for name, prop in self.props.items()},
            "additionalProperties": False,
        }
        required = [name for name, prop in self.props.items() if prop.required]
        if required:
            schema["required"] = required
        return self._described(schema | self.extra_schema)


def _number(value: Any) -> Decimal | None:
    """A finite JSON number as an exact ``Decimal`` (a Python float by its shortest repr), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


def valid(*values: Any) -> bool:
    """True when none of ``values`` failed to parse."""
    return all(value is not INVALID for value in values)
