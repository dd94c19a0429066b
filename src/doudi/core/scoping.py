"""Region scope: the one mechanism that limits what a staff user may see.

Every region-bound model declares `region_field` (the lookup path to its Region) and uses
`RegionScopedQuerySet`; selectors call `.visible_to(user)`, views use `get_visible_or_404`.
Out-of-scope objects are indistinguishable from missing ones (404), as the design requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.http import Http404

if TYPE_CHECKING:
    from doudi.accounts.models import User

M = TypeVar("M", bound=models.Model)


class RegionScopedQuerySet(models.QuerySet):
    def visible_to(self, user: User) -> RegionScopedQuerySet:
        region = getattr(user, "region", None) if getattr(user, "is_authenticated", False) else None
        if region is None:
            return self.none()
        field = self.model.region_field  # type: ignore[attr-defined]  # "" when the model is Region itself
        lookup = f"{field}__path__startswith" if field else "path__startswith"
        return self.filter(**{lookup: region.path})


RegionScopedManager = models.Manager.from_queryset(RegionScopedQuerySet)


def get_visible_or_404(queryset_or_model: Any, user: User, **lookup: Any) -> Any:
    qs = (
        queryset_or_model
        if isinstance(queryset_or_model, models.QuerySet)
        else queryset_or_model.objects.all()
    )
    try:
        return qs.visible_to(user).get(**lookup)
    except qs.model.DoesNotExist as exc:
        raise Http404 from exc


def region_in_scope(user: User, region: Any) -> bool:
    """Whether a Region node lies inside the user's subtree (for writes that name a region)."""
    own = getattr(user, "region", None)
    return own is not None and region is not None and region.path.startswith(own.path)
