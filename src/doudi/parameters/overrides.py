"""What-if overrides typed by people: `dibao.standard.urban=700` (CLI `--set`, console form)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from doudi.policy.parameters import OverrideError, ParameterSet, ValueType

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_value_text(value_type: ValueType, text: str, *, nullable: bool = False) -> Any:
    """A value typed as text, as the parameter's type expects it (numbers become exact Decimals)."""
    text = text.strip()
    if nullable and text.lower() in {"", "null"}:
        return None
    if value_type is ValueType.DATE:
        return text
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text  # the parameter's own check says what it expects
    return int(number) if number == number.to_integral_value() and "." not in text else number


def parse_overrides(
    params: ParameterSet, lines: Iterable[str], *, field: str = "overrides"
) -> dict[str, Any]:
    """`name=value` lines (the CLI's `--set`) → {name: typed value}, every bad line reported at once."""
    from doudi.policy.batch import parse_assignments

    overrides: dict[str, Any] = {}
    errors: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            overrides.update(parse_assignments([line], params))
        except ValueError as error:
            errors.append(f"{line}: {error}")
    if not errors:
        try:
            params.with_overrides(overrides)
        except OverrideError as error:
            errors.extend(message for _key, message in error.problems)
    if errors:
        raise ValidationError({field: errors})
    return overrides


def check_period(period: str, *, field: str = "period") -> str:
    period = (period or "").strip()
    if not PERIOD_RE.match(period):
        raise ValidationError({field: _("期间应为 YYYY-MM，例如 2020-03。")})
    return period
