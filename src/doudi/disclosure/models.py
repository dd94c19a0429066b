"""公示: decisions under publicity on the public page, with masked personal data only.

A `Publication` is created when a dibao case enters 公示 (7 days) or 复核公示 (3 days, after an upheld
objection — 条例第18条). It holds a *copy* of exactly what may be shown — masked name (张*明), masked
ID number (first 6 and last 4 digits), village, scheme, amount — so the public page never reads the
registry: no address, no phone, no household composition can leak through it. The dates are calendar
days (条例第18条 counts days, not working days); the entry is on the page while
`start_date <= today <= end_date` and it has not been withdrawn (an upheld objection, a withdrawal).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from doudi.benefits.models import Scheme
from doudi.core.scoping import RegionScopedManager


class PublicationKind(models.TextChoices):
    FIRST = "first", _("公示")
    RE = "re", _("复核公示")


class Publication(models.Model):
    case = models.ForeignKey("intake.Case", on_delete=models.PROTECT, related_name="publications")
    kind = models.CharField(_("类别"), max_length=8, choices=PublicationKind.choices)
    start_date = models.DateField(_("公示开始"))
    end_date = models.DateField(_("公示截止"))
    masked_name = models.CharField(_("姓名"), max_length=64)
    masked_id = models.CharField(_("身份证号"), max_length=18)
    # The village (for the district/village filter) and its name as published.
    village = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    village_name = models.CharField(_("村社区"), max_length=64)
    scheme = models.CharField(_("救助项目"), max_length=16, choices=Scheme.choices)
    amount = models.PositiveIntegerField(_("月救助金（元）"))
    created_at = models.DateTimeField(_("发布时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Internal: taken off the page before its end (objection upheld, application withdrawn).
    withdrawn_at = models.DateTimeField(_("撤下时间"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("撤下原因"), max_length=200, blank=True)

    region_field = "village"
    objects = RegionScopedManager()

    class Meta:
        ordering = ["-start_date", "-id"]
        verbose_name = _("公示")
        verbose_name_plural = _("公示")
        indexes = [models.Index(fields=["start_date", "end_date"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_date__gte=models.F("start_date")), name="publication_end_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.masked_name} {self.start_date}–{self.end_date}"

    def running_on(self, day) -> bool:
        return self.withdrawn_at is None and self.start_date <= day <= self.end_date
