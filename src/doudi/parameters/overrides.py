"""What-if overrides typed by people: `dibao.standard.urban=700` (CLI `--set`, console form)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.policy.parameters import OverrideError, Parameter, ParameterSet, ValueType

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

# What a value of each type looks like, in words (the form's hint and the message when it is wrong).
VALUE_HINTS = {
    ValueType.MONEY: gettext_lazy("金额（元），不小于0，最多两位小数"),
    ValueType.RATIO: gettext_lazy("系数，不小于0，最多四位小数"),
    ValueType.PERCENT: gettext_lazy("百分数（如 4.3 表示 4.3%），-1000 至 1000，可为负，最多四位小数"),
    ValueType.COUNT: gettext_lazy("整数，0 至 10000"),
    ValueType.DATE: gettext_lazy("日期 YYYY-MM-DD"),
}


def value_error(parameter: Parameter, text: str) -> str:
    """The message for a value that does not fit `parameter`, naming what was typed and what fits."""
    if not text.strip():
        return _("请填写取值（%(hint)s）。") % {"hint": VALUE_HINTS[parameter.type]}
    return _("“%(text)s”不是有效的取值：应为%(hint)s。") % {
        "text": text.strip(),
        "hint": VALUE_HINTS[parameter.type],
    }


def coerce_text(parameter: Parameter, text: str) -> Any:
    """The typed text as `parameter`'s value; `ValidationError` (in the user's language) if it does not fit."""
    try:
        return parameter.coerce(parse_value_text(parameter.type, text, nullable=parameter.nullable))
    except ValueError:
        raise ValidationError(value_error(parameter, text)) from None


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
    """`name=value` lines (the CLI's `--set`) → {name: typed value}, every bad line reported at once,
    each message naming the line."""
    overrides: dict[str, Any] = {}
    errors: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        key, sep, text = line.partition("=")
        key = key.strip()
        if not sep:
            errors.append(_("“%(line)s”：应写成“参数名=取值”。") % {"line": line})
            continue
        try:
            parameter, _region = params.resolve(key)
        except KeyError:
            errors.append(_("“%(line)s”：没有名为 %(name)s 的参数。") % {"line": line, "name": key})
            continue
        try:
            overrides[key] = coerce_text(parameter, text)
        except ValidationError as error:
            errors.append(_("“%(line)s”：%(message)s") % {"line": line, "message": error.messages[0]})
    if not errors:
        try:
            params.with_overrides(overrides)
        except OverrideError as error:
            errors.extend(_("“%(name)s”：取值无效。") % {"name": key} for key, _message in error.problems)
    if errors:
        raise ValidationError({field: errors})
    return overrides


def check_period(period: str, *, field: str = "period") -> str:
    period = (period or "").strip()
    if not PERIOD_RE.match(period):
        raise ValidationError({field: _("期间应为 YYYY-MM，例如 2020-03。")})
    return period
