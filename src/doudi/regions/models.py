"""The administrative tree: 市 → 区县 → 乡镇街道 → 村社区, emergency windows, hotlines."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager


class RegionLevel(models.IntegerChoices):
    MUNICIPALITY = 1, _("市")
    DISTRICT = 2, _("区县")
    TOWNSHIP = 3, _("乡镇街道")
    VILLAGE = 4, _("村社区")


class Region(models.Model):
    """One node of the administrative tree.

    `path` is the materialised chain of codes from the root ("500000/500101/500101001/"), so a
    subtree is one indexed prefix query; it is what every region-scoped selector filters on.
    """

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.PositiveSmallIntegerField(_("层级"), choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    path = models.CharField(max_length=80, unique=True)
    is_local_code = models.BooleanField(
        _("本地代码"), default=False, help_text=_("没有国标代码的功能区（两江新区等）使用的本地代码")
    )

    region_field = ""
    objects = RegionScopedManager()

    class Meta:
        ordering = ["path"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        indexes = [
            models.Index(fields=["level", "path"]),
            # LIKE 'prefix%' on PostgreSQL uses an index only with the pattern operator class.
            models.Index(fields=["path"], name="region_path_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def contains(self, other: "Region") -> bool:
        return other.path.startswith(self.path)

    @property
    def district_code(self) -> str | None:
        """The 区县 this node belongs to (its own code for a district), None for the municipality."""
        parts = self.path.strip("/").split("/")
        return parts[1] if len(parts) > 1 else None
