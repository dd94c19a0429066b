from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def param_value(value) -> str:
    """A parameter value for people: numbers without float noise, null as 'not set'."""
    if value is None:
        return _("未设定")
    if isinstance(value, float):
        text = f"{value:.6f}".rstrip("0").rstrip(".")
        return text or "0"
    return str(value)


@register.filter
def signed_yuan(value) -> str:
    """+1,234 / -56 / 0 for the what-if differences (whole yuan)."""
    if value is None:
        return ""
    number = round(float(value))
    return f"{number:+,}" if number else "0"
