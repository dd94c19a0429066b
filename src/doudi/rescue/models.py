"""救助管理 (notice 二(三)): rescue-management stations and temporary shelters with their daily
occupancy and infection-control checks, saturation alerts to the district, and patrols' field reports.

Occupancy records, checks and field reports are insert-only (intake's `InsertOnlyModel`): a correction
is a new record. An alert's only later write is the shelter opened in answer to it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.core.scoping import RegionScopedManager
from doudi.intake.models import InsertOnlyManager, InsertOnlyModel
from doudi.rescue.rules import Destination


class StationKind(models.TextChoices):
    STATION = "station", _("救助管理站")
    SHELTER = "shelter", _("临时庇护场所")


class Station(models.Model):
    """救助管理站 / 临时庇护场所: a place that takes people in, with its capacity and the share of it
    (threshold, %) at which the district is alerted — its own, or (None) the bureau's dated parameter
    `rescue.station_threshold_percent` in force on the day."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类型"), max_length=10, choices=StationKind.choices)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("所在区划")
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    capacity = models.PositiveIntegerField(_("床位数"))
    threshold_percent = models.PositiveSmallIntegerField(_("预警线（%）"), null=True, blank=True)
    # The district's duty mobile that is texted when the station reaches its line (blank: console only).
    alert_phone = models.CharField(_("预警短信接收手机"), max_length=20, blank=True)
    active = models.BooleanField(_("运营中"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("登记人")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    region_field = "region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("救助管理站")
        verbose_name_plural = _("救助管理站")
        ordering = ["region__path", "kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["region", "name"], name="rescue_station_unique_name"),
            models.CheckConstraint(
                condition=models.Q(threshold_percent__gte=1, threshold_percent__lte=100),
                name="rescue_station_threshold_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Occupancy(InsertOnlyModel):
    """每日在站人数: one record per station and day."""

    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, related_name="occupancies", verbose_name=_("救助管理站")
    )
    day = models.DateField(_("日期"))
    occupants = models.PositiveIntegerField(_("在站人数"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("填报人")
    )
    recorded_at = models.DateTimeField(_("填报时间"))

    region_field = "station__region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("在站人数")
        verbose_name_plural = _("在站人数")
        ordering = ["-day", "station_id"]
        constraints = [models.UniqueConstraint(fields=["station", "day"], name="rescue_one_occupancy_a_day")]


class SaturationAlert(models.Model):
    """床位预警: a station's occupancy reached its threshold on a day; the district is alerted and may
    answer by opening a temporary shelter (`shelter`, written once)."""

    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, related_name="alerts", verbose_name=_("救助管理站")
    )
    day = models.DateField(_("日期"))
    occupants = models.PositiveIntegerField(_("在站人数"))
    capacity = models.PositiveIntegerField(_("床位数"))
    threshold_percent = models.PositiveSmallIntegerField(_("预警线（%）"))
    raised_at = models.DateTimeField(_("预警时间"))
    shelter = models.OneToOneField(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="opened_for",
        verbose_name=_("开设的临时庇护场所"),
    )

    region_field = "station__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("床位预警")
        verbose_name_plural = _("床位预警")
        ordering = ["-day", "-id"]
        constraints = [models.UniqueConstraint(fields=["station", "day"], name="rescue_one_alert_a_day")]


class InfectionCheck(InsertOnlyModel):
    """疫情防控检查: one per station and day, item by item."""

    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, related_name="checks", verbose_name=_("救助管理站")
    )
    day = models.DateField(_("日期"))
    disinfection = models.BooleanField(_("环境消毒"))
    temperature_checks = models.BooleanField(_("体温检测"))
    isolation_room = models.BooleanField(_("隔离观察室"))
    masks = models.BooleanField(_("口罩等防护用品"))
    ventilation = models.BooleanField(_("通风"))
    note = models.CharField(_("问题及整改"), max_length=500, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("检查人")
    )
    recorded_at = models.DateTimeField(_("录入时间"))

    region_field = "station__region"
    objects = InsertOnlyManager()

    ITEMS = ("disinfection", "temperature_checks", "isolation_room", "masks", "ventilation")

    class Meta:
        verbose_name = _("疫情防控检查")
        verbose_name_plural = _("疫情防控检查")
        ordering = ["-day", "station_id"]
        constraints = [models.UniqueConstraint(fields=["station", "day"], name="rescue_one_check_a_day")]

    @property
    def all_passed(self) -> bool:
        return all(getattr(self, item) for item in self.ITEMS)


class PatrolUnit(models.TextChoices):
    POLICE = "police", _("公安")
    URBAN_MANAGEMENT = "urban_management", _("城管")
    CDC = "cdc", _("疾控")
    COMMUNITY = "community", _("社区")


class FieldReport(InsertOnlyModel):
    """巡查报告: a person found by a patrol, and where they went — the quarantine-observation site that
    received them, or the station they were guided to and whether they accepted."""

    unit_kind = models.CharField(_("巡查力量"), max_length=20, choices=PatrolUnit.choices)
    unit_name = models.CharField(_("单位"), max_length=100)
    reporter_name = models.CharField(_("报告人"), max_length=64)
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("发现地所在区划")
    )
    place = models.CharField(_("发现地点"), max_length=200)
    found_at = models.DateTimeField(_("发现时间"))
    description = models.CharField(_("人员情况"), max_length=500)
    fever = models.BooleanField(_("发热"))
    dry_cough = models.BooleanField(_("干咳"))
    destination = models.CharField(_("去向"), max_length=12, choices=Destination.choices)
    reason = models.CharField(_("理由"), max_length=200)
    quarantine_site = models.CharField(_("接收的集中隔离观察点"), max_length=100, blank=True)
    station = models.ForeignKey(
        Station,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="field_reports",
        verbose_name=_("引导前往的救助管理站"),
    )
    accepted = models.BooleanField(_("接受救助"), null=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("录入人")
    )
    recorded_at = models.DateTimeField(_("录入时间"))

    region_field = "region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("巡查报告")
        verbose_name_plural = _("巡查报告")
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "found_at", "place", "description"], name="rescue_field_report_once"
            )
        ]


class AidKind(models.TextChoices):
    """二(一): what a stranded person is given — lodging, food, warm clothing — and the fare home."""

    LODGING = "lodging", _("临时住宿")
    FOOD = "food", _("饮食")
    CLOTHING = "clothing", _("御寒衣物")
    FARE_HOME = "fare_home", _("返乡车（船）票")
    OTHER = "other", _("其他")


class AidItem(InsertOnlyModel):
    """实物帮扶明细: one item of in-kind aid given on a stranded-person case (intake case type 滞留人员救助)
    — what, how many of what unit, its value in fen (exact), the day. A correction is a new row."""

    case = models.ForeignKey(
        "intake.Case", on_delete=models.PROTECT, related_name="aid_items", verbose_name=_("案件")
    )
    kind = models.CharField(_("帮扶项目"), max_length=12, choices=AidKind.choices)
    description = models.CharField(_("内容"), max_length=100)
    quantity = models.PositiveIntegerField(_("数量"))
    unit = models.CharField(_("单位"), max_length=8)
    amount_fen = models.BigIntegerField(_("折合金额（分）"))
    given_on = models.DateField(_("发放日期"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("登记人")
    )
    recorded_at = models.DateTimeField(_("登记时间"))

    region_field = "case__region"
    objects = InsertOnlyManager()

    class Meta:
        verbose_name = _("实物帮扶明细")
        verbose_name_plural = _("实物帮扶明细")
        ordering = ["given_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_fen__gte=0), name="rescue_aid_amount_not_negative"
            ),
            models.UniqueConstraint(
                fields=["case", "kind", "description", "quantity", "unit", "amount_fen", "given_on"],
                name="rescue_aid_item_once",
            ),
        ]


class StationReferral(models.Model):
    """转介救助管理站 (二(二)): a vagrant or beggar referred to a station, and the station's acknowledgement
    that the person arrived (到站确认) — or did not. Written once at referral; the answer once."""

    case = models.OneToOneField(
        "intake.Case", on_delete=models.PROTECT, related_name="station_referral", verbose_name=_("案件")
    )
    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, related_name="referrals", verbose_name=_("救助管理站")
    )
    note = models.CharField(_("转介说明"), max_length=500)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("转介人")
    )
    referred_at = models.DateTimeField(_("转介时间"))
    arrived = models.BooleanField(_("已到站"), null=True)
    answered_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("确认人"),
    )
    answer_note = models.CharField(_("确认说明"), max_length=500, blank=True)

    region_field = "station__region"
    objects = RegionScopedManager()

    class Meta:
        verbose_name = _("转介救助管理站")
        verbose_name_plural = _("转介救助管理站")
        ordering = ["-referred_at", "-id"]
