from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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


VALUE_TYPES = {
    "money": gettext_lazy("金额"),
    "ratio": gettext_lazy("系数"),
    "percent": gettext_lazy("百分数"),
    "count": gettext_lazy("整数"),
    "date": gettext_lazy("日期"),
}
# The price-index series carry the reference file's status (docs/policy.md).
VALUE_STATUSES = {
    "verified-NBS-release": gettext_lazy("已与国家统计局发布核对"),
    "recalled-check-NBS": gettext_lazy("凭记忆录入，待与国家统计局发布核对"),
    "consistent-with-Aug-release": gettext_lazy("与8月发布的数据一致"),
}


@register.filter
def value_type(code: str) -> str:
    return str(VALUE_TYPES.get(code, code))


@register.filter
def value_status(code: str) -> str:
    return str(VALUE_STATUSES.get(code, code))


@register.filter
def parameter_text(parameter) -> dict[str, str]:
    """名称、说明、单位 of a policy `Parameter` in the user's language."""
    from doudi.parameters.selectors import parameter_text as text

    return text(parameter)
