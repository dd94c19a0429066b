from django import template

from doudi.core import masking

register = template.Library()


@register.filter
def mask_id(value: str) -> str:
    return masking.mask_id_number(value)


@register.filter
def mask_phone(value: str) -> str:
    return masking.mask_phone(value)


@register.filter
def mask_name(value: str) -> str:
    return masking.mask_name(value)


@register.filter
def yuan(fen: int | None) -> str:
    """Integer fen shown as yuan with two decimals."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"
