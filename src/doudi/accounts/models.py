"""Staff users: each is bound to one region node and sees only that subtree."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.accounts.roles import Role


class User(AbstractUser):
    region = models.ForeignKey(
        "regions.Region",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
        verbose_name=_("所属区划"),
    )
    full_name = models.CharField(_("姓名"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("工作人员")
        verbose_name_plural = _("工作人员")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def roles(self) -> frozenset[str]:
        cached = getattr(self, "_roles_cache", None)
        if cached is None:
            cached = frozenset(self.groups.values_list("name", flat=True)) if self.pk else frozenset()
            self._roles_cache = cached
        return cached

    def has_role(self, *roles: Role | str) -> bool:
        return any(str(r) in self.roles for r in roles)

    @property
    def byline(self) -> str:
        """How the user is named on a case record: 姓名（单位 · 岗位）, e.g.
        "王丽（解放碑街道 · 乡镇街道经办人）" — never the login name unless no name was given."""
        role = next((Role(r).label for r in sorted(self.roles) if r in Role.values), "")
        unit = " · ".join(str(p) for p in (self.region.name if self.region_id else "", role) if p)
        name = self.full_name or self.username
        return f"{name}（{unit}）" if unit else name
