"""政策参数取值: the dated parameter values the bureau stores over the YAML defaults.

Insert-only: a correction is a new row for the same (name, region, effective_from) with the next
`revision`; the history keeps every value ever entered, who entered it, why, and from which source.
"""

import json
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ParameterValue(models.Model):
    """One stored value of a policy parameter (POLICY.md §2), in force from `effective_from`.

    `value` is the JSON text of the value exactly as entered (`546`, `0.25`, `"2020-06-30"`, `null`
    for an open window end), decoded with decimals so that no binary float ever touches money.
    `region` is the 6-digit district code for a region-indexed parameter, "" otherwise.
    """

    name = models.CharField(_("参数"), max_length=100, db_index=True)
    region = models.CharField(_("区县代码"), max_length=12, blank=True, default="")
    effective_from = models.DateField(_("生效日期"))
    revision = models.PositiveIntegerField(_("修订次序"), default=1)
    value = models.TextField(_("取值"))
    reference = models.CharField(_("依据"), max_length=300)
    verified = models.BooleanField(_("已核实"), default=False)
    reason = models.TextField(_("原因"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("录入人"),
    )
    created_at = models.DateTimeField(_("录入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("参数取值")
        verbose_name_plural = _("参数取值")
        ordering = ["name", "region", "effective_from", "revision"]
        constraints = [
            # Two corrections of the same dated value racing each other: the second insert fails
            # here and the service answers Conflict (409) instead of silently overwriting.
            models.UniqueConstraint(
                fields=["name", "region", "effective_from", "revision"], name="parameter_value_one_revision"
            ),
        ]

    def __str__(self) -> str:
        where = f"[{self.region}]" if self.region else ""
        return f"{self.name}{where} {self.effective_from}: {self.value}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("parameter values are insert-only; add a correcting value instead")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("parameter values are insert-only; add a correcting value instead")

    @property
    def decoded(self) -> Any:
        """The stored JSON decoded with exact decimals (int, Decimal, str or None)."""
        return decode_value(self.value)


def encode_value(value: Any) -> str:
    """The canonical JSON text of a coerced value (Decimal kept digit for digit)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        raise TypeError("a boolean is not a parameter value")
    if isinstance(value, int | Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False)


def decode_value(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


class SimulationStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("计算中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class RegistrySnapshot(models.Model):
    """户籍库快照: the registry frozen into Parquet for a what-if — every household with a current member,
    its members, incomes, categories and dibao status in force in `month` — so that a run says what it
    ran on and a later edit of the registry does not change it. Files under DOUDI_DATA_DIR/<directory>."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    month = models.CharField(_("状态月份"), max_length=7)
    directory = models.CharField(_("目录"), max_length=200)
    households = models.PositiveIntegerField(_("户数"))
    persons = models.PositiveIntegerField(_("人数"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    taken_at = models.DateTimeField(_("冻结时间"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发起人"),
    )

    class Meta:
        verbose_name = _("户籍库快照")
        verbose_name_plural = _("户籍库快照")
        ordering = ["-taken_at"]

    def __str__(self) -> str:
        return f"{self.taken_at:%Y-%m-%d %H:%M} ({self.households})"


class SimulationRun(models.Model):
    """政策测算 (what-if): a period, parameter overrides and a population directory, run in the
    background; the result is the per-district table the console shows and charts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    period = models.CharField(_("期间"), max_length=7)
    overrides = models.JSONField(_("调整参数"), default=dict)
    population = models.CharField(_("人口数据"), max_length=100)
    status = models.CharField(
        _("状态"), max_length=8, choices=SimulationStatus.choices, default=SimulationStatus.QUEUED
    )
    snapshot = models.ForeignKey(
        RegistrySnapshot,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name=_("户籍库快照"),
    )
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发起人"),
    )
    created_at = models.DateTimeField(_("发起时间"), auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("政策测算")
        verbose_name_plural = _("政策测算")
        ordering = ["-created_at"]

    @property
    def finished(self) -> bool:
        return self.status in {SimulationStatus.DONE, SimulationStatus.FAILED}
