"""Service-side field checks that collect errors by field name, then raise them together — the shape
the care and rescue services share — and the permission refusal every service and view uses."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from doudi.core.errors import Conflict
from doudi.core.text import clean_multiline_text, clean_text

MAX_COUNT = 100_000


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied(_("您没有执行此操作的权限。"))


def raise_field_errors(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


def clean_field_text(errors: dict[str, str], field: str, raw: Any, *, required: bool, max_length: int) -> str:
    """The text without invisible characters; a blank required field or one too long is an error."""
    text = clean_text(raw)
    if required and not text:
        errors[field] = _("请填写此项。")
    elif len(text) > max_length:
        errors[field] = _("不能超过 %(n)s 个字。") % {"n": max_length}
    return text


def clean_field_lines(
    errors: dict[str, str], field: str, raw: Any, *, required: bool, max_length: int
) -> str:
    """Free text with its lines kept (`clean_multiline_text`); blank when required, or too long: an error."""
    text = clean_multiline_text(raw)
    if required and not text:
        errors[field] = _("请填写此项。")
    elif len(text) > max_length:
        errors[field] = _("不能超过 %(n)s 个字。") % {"n": max_length}
    return text


def clean_count(errors: dict[str, str], field: str, raw: Any, *, maximum: int = MAX_COUNT) -> int:
    """A whole number from 0 to `maximum` (text from a form or a number)."""
    text = clean_text(raw)
    if not text:
        errors[field] = _("请填写此项。")
        return 0
    try:
        value = int(text)
    except (TypeError, ValueError):
        errors[field] = _("请填写整数。")
        return 0
    if not 0 <= value <= maximum:
        errors[field] = _("应为 0 至 %(max)s 之间的整数。") % {"max": maximum}
    return value


def clean_day(errors: dict[str, str], field: str, raw: Any, *, today: datetime.date) -> datetime.date:
    """A date (a date object or YYYY-MM-DD) that is not in the future."""
    day = raw
    if isinstance(raw, str):
        try:
            day = datetime.date.fromisoformat(clean_text(raw))
        except ValueError:
            day = None
    if isinstance(day, datetime.datetime):
        day = day.date()
    if not isinstance(day, datetime.date):
        errors[field] = _("请填写有效日期（YYYY-MM-DD）。")
        return today
    if day > today:
        errors[field] = _("日期不能晚于今天。")
    return day


def create_once(model: Any, conflict: Callable[[], Conflict], key: dict[str, Any], **fields: Any) -> Any:
    """Insert a row whose unique `key` may be taken already: then a Conflict (the first row stands),
    whether the earlier row is seen before the insert or lands at the same moment."""
    if model.objects.filter(**key).exists():
        raise conflict()
    try:
        with transaction.atomic():
            return model.objects.create(**key, **fields)
    except IntegrityError:
        raise conflict() from None
