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
def mask_account(value: str) -> str:
    return masking.mask_account_number(value)


@register.filter
def yuan(fen: int | None) -> str:
    """Integer fen shown as yuan with two decimals."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


def _query_without(context, keys: tuple[str, ...]) -> str:
    request = context.get("request")
    if request is None:
        return ""
    params = request.GET.copy()
    for key in keys:
        params.pop(key, None)
    encoded = params.urlencode()
    return f"{encoded}&" if encoded else ""


@register.simple_tag(takes_context=True)
def page_query_prefix(context) -> str:
    """The current query string without `page`, ready for "?{prefix}page=N": a page link keeps the filters."""
    return _query_without(context, ("page",))


@register.simple_tag(takes_context=True)
def keyset_query_prefix(context) -> str:
    """The current query string without the keyset cursors (`after`, `before`): a keyset page link
    keeps the filters (console/_keyset_pagination.html)."""
    return _query_without(context, ("after", "before", "page"))
