from django import template

from doudi.accounts.roles import Role
from doudi.core.nav import menus_for

register = template.Library()


@register.simple_tag(takes_context=True)
def console_nav_menus(context):
    """The bar's menus for the signed-in user (see core/nav.py)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return menus_for(user)


@register.filter
def role_labels(user) -> str:
    """The user's roles in the current language, joined for the navbar."""
    labels = []
    for value in sorted(getattr(user, "roles", ())):
        try:
            labels.append(str(Role(value).label))
        except ValueError:
            labels.append(value)
    return "、".join(labels)


@register.filter
def region_trail(region) -> str:
    """万州区 / 高笋塘街道 / 高笋塘社区: the node with its ancestors below the municipality."""
    names = []
    node = region
    # Stops at the district, so a village loaded with select_related("region__parent__parent")
    # costs no further query.
    while node is not None:
        names.append(node.name)
        if node.level <= 2:
            break
        node = node.parent
    return " / ".join(reversed(names))


@register.filter
def minutes(delta) -> int:
    """A timedelta in whole minutes, rounded up (a lock-out of 29.5 minutes says 30)."""
    seconds = int(delta.total_seconds())
    return max(1, -(-seconds // 60))


@register.filter
def object_label(object_type: str) -> str:
    """ "registry.person" → the model's verbose name (人员) in the current language."""
    from django.apps import apps

    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type
