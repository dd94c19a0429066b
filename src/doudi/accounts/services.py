"""Creating staff users bound to a region node with their roles."""

from collections.abc import Iterable

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from doudi.accounts.models import User
from doudi.accounts.roles import Role
from doudi.audit.services import record
from doudi.regions.models import Region


def ensure_role_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


@transaction.atomic
def create_staff_user(
    *,
    username: str,
    password: str,
    region: Region,
    roles: Iterable[str],
    full_name: str = "",
    by: User | None = None,
) -> User:
    roles = list(roles)
    unknown = [r for r in roles if r not in Role.values]
    if unknown:
        raise ValidationError({"roles": f"unknown role(s): {', '.join(unknown)}"})
    user = User(username=username, region=region, full_name=full_name, is_staff=False)
    user.set_password(password)
    user.save()
    ensure_role_groups()
    user.groups.set(Group.objects.filter(name__in=roles))
    record(
        actor=by,
        action="create",
        obj=user,
        region_path=region.path,
        after={"username": username, "region": region.code, "roles": roles},
    )
    return user
