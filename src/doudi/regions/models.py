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
    authority_name = models.CharField(
        _("盖章单位"),
        max_length=64,
        blank=True,
        help_text=_("在通知书、决定书上署名盖章的机关全称；留空时按区划推定（如“重庆市渝中区民政局”）"),
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
    def seal_name(self) -> str:
        """The body that signs and seals this unit's notices (盖章单位): `authority_name` when the bureau
        set one (功能区 such as 两江新区 have their own social-affairs bureau), else the usual name for
        the level: 重庆市XX区民政局, XX街道办事处 / XX镇人民政府, the village or community committee."""
        if self.authority_name:
            return self.authority_name
        if self.level == RegionLevel.MUNICIPALITY:
            return f"{self.name}民政局"
        if self.level == RegionLevel.DISTRICT:
            if self.is_local_code:
                return f"{self.name}民政部门"
            root = (
                Region.objects.filter(code=self.path.split("/", 1)[0]).values_list("name", flat=True).first()
            )
            prefix = root if root and not self.name.startswith(root) else ""
            return f"{prefix}{self.name}民政局"
        if self.level == RegionLevel.TOWNSHIP:
            return f"{self.name}办事处" if self.name.endswith("街道") else f"{self.name}人民政府"
        return f"{self.name}村民委员会" if self.name.endswith("村") else f"{self.name}居民委员会"

    @property
    def district_code(self) -> str | None:
        """The 区县 this node belongs to (its own code for a district), None for the municipality."""
        parts = self.path.strip("/").split("/")
        return parts[1] if len(parts) > 1 else None


class WindowScope(models.TextChoices):
    CITY = "city", _("全市")
    DISTRICTS = "districts", _("指定区县")


class EmergencyWindow(models.Model):
    """疫情防控期间: a dated interval declared by the municipal bureau, city-wide or for listed districts.

    `end` is null while the end has not been declared (POLICY.md: "end may be open"). A window
    limited to some districts overrides, for those districts, the city-wide window it overlaps
    (see selectors.effective_windows). Rows change only through services.declare_window and
    services.end_window; every change is also an EmergencyWindowEvent row, so the history of an
    ended window stays visible.
    """

    name = models.CharField(_("名称"), max_length=100)
    start = models.DateField(_("开始日期"))
    end = models.DateField(_("结束日期"), null=True, blank=True, help_text=_("留空表示尚未宣布结束"))
    scope = models.CharField(_("范围"), max_length=16, choices=WindowScope.choices, default=WindowScope.CITY)
    districts = models.ManyToManyField(
        Region,
        blank=True,
        related_name="emergency_windows",
        verbose_name=_("适用区县"),
        limit_choices_to={"level": RegionLevel.DISTRICT},
    )
    reason = models.TextField(_("依据与理由"), blank=True)
    declared_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("宣布人"),
    )
    declared_at = models.DateTimeField(_("宣布时间"))

    class Meta:
        ordering = ["-start", "id"]
        verbose_name = _("疫情防控期间")
        verbose_name_plural = _("疫情防控期间")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")),
                name="emergency_window_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.start} – {self.end or _('未结束')}）"

    @property
    def is_open(self) -> bool:
        return self.end is None

    def as_interval(self) -> tuple:
        return (self.start, self.end)


class WindowEventKind(models.TextChoices):
    DECLARED = "declared", _("宣布")
    ENDED = "ended", _("宣布结束")


class EmergencyWindowEvent(models.Model):
    """The insert-only change ledger of an emergency window (who, when, what before and after, why)."""

    window = models.ForeignKey(EmergencyWindow, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("变更"), max_length=16, choices=WindowEventKind.choices)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    by_label = models.CharField(_("操作人"), max_length=150)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(_("原因"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("疫情防控期间变更记录")
        verbose_name_plural = _("疫情防控期间变更记录")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("emergency window events are insert-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("emergency window events are insert-only")


class Hotline(models.Model):
    """公布的服务热线 (notice 四): a published line of a district, or of the whole city when bound
    to the municipality. Public numbers, not personal data: they are shown unmasked."""

    district = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="hotlines",
        verbose_name=_("区县"),
        limit_choices_to={"level__lte": RegionLevel.DISTRICT},
    )
    name = models.CharField(_("热线名称"), max_length=64)
    phone = models.CharField(_("电话号码"), max_length=32)
    service_hours = models.CharField(_("服务时间"), max_length=64, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    region_field = "district"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["district__path", "sort_order", "name", "id"]
        verbose_name = _("服务热线")
        verbose_name_plural = _("服务热线")
        constraints = [
            models.UniqueConstraint(fields=["district", "name", "phone"], name="hotline_unique_per_district"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.phone}"
