"""Writes of policy parameter values (政策参数维护): only the municipal bureau sets them."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import Role
from doudi.audit.services import record
from doudi.core.errors import Conflict
from doudi.parameters.models import ParameterValue, RegistrySnapshot, SimulationRun, encode_value
from doudi.parameters.overrides import value_error
from doudi.parameters.selectors import (
    REGISTRY,
    current_parameters,
    invalidate_parameter_cache,
    stored_overlay_records,
)
from doudi.policy.parameters import Kind, ParameterError, load_defaults
from doudi.regions.models import Region, RegionLevel

if TYPE_CHECKING:
    from doudi.accounts.models import User

MAX_REFERENCE = 300
SNAPSHOT_DIR = "registry-snapshots"  # under DOUDI_DATA_DIR


@transaction.atomic
def add_parameter_value(
    *,
    user: User,
    name: str,
    effective_from: date,
    value: Any,
    region: str | None = None,
    reference: str,
    reason: str,
    verified: bool = False,
    supersedes: int | None = None,
) -> ParameterValue:
    """录入参数取值: add a dated value of `name` (for district `region` when region-indexed).

    A value for a date that already has a stored value is a correction: the caller names the row it
    corrects in `supersedes`, so that two people correcting the same value at once cannot silently
    overwrite each other — the second one gets `Conflict`. Monthly index values (CPI, food CPI) are
    dated on the 1st of their month.
    """
    if not user.has_role(Role.MUNICIPAL_ADMIN):
        raise PermissionDenied(_("只有市民政管理员可以录入政策参数。"))
    defaults = load_defaults()
    errors: dict[str, list[str]] = {}
    parameter = defaults.get(name)
    if parameter is None:
        raise ValidationError({"name": _("未知的参数：%(name)s") % {"name": name}})
    region = (region or "").strip()
    if parameter.region_indexed:
        if not region:
            errors.setdefault("region", []).append(_("该参数按区县设定，请填写区县代码。"))
        elif not Region.objects.filter(code=region, level=RegionLevel.DISTRICT).exists():
            errors.setdefault("region", []).append(_("%(code)s 不是区县代码。") % {"code": region})
    elif region:
        errors.setdefault("region", []).append(_("该参数全市统一，不按区县设定。"))
    if not isinstance(effective_from, date):
        errors.setdefault("effective_from", []).append(_("请填写生效日期（YYYY-MM-DD）。"))
    elif parameter.kind is Kind.MONTHLY_SERIES and effective_from.day != 1:
        errors.setdefault("effective_from", []).append(_("月度指数的生效日期须为该月1日。"))
    try:
        coerced = parameter.coerce(value)
    except ValueError:
        errors.setdefault("value", []).append(value_error(parameter, "" if value is None else str(value)))
        coerced = None
    reference = (reference or "").strip()
    if not reference:
        errors.setdefault("reference", []).append(_("请填写依据（文件、来源）。"))
    elif len(reference) > MAX_REFERENCE:
        errors.setdefault("reference", []).append(_("依据过长（最多300字）。"))
    reason = (reason or "").strip()
    if not reason:
        errors.setdefault("reason", []).append(_("请填写录入原因。"))
    if errors:
        raise ValidationError(errors)

    current = (
        ParameterValue.objects.filter(name=name, region=region, effective_from=effective_from)
        .order_by("-revision")
        .first()
    )
    if current is not None and supersedes != current.pk:
        raise Conflict(
            _("%(date)s 已有录入值（第%(rev)s次，编号%(id)s）；如需更正，请基于当前值重新提交。")
            % {"date": effective_from.isoformat(), "rev": current.revision, "id": current.pk},
            path="supersedes",
        )
    if current is None and supersedes is not None:
        raise Conflict(_("要更正的取值不存在或不是该日期的取值。"), path="supersedes")

    stored = (name, region or None, effective_from, coerced, reference, bool(verified))
    try:
        defaults.overlay([*stored_overlay_records(), stored])
    except ParameterError:
        raise ValidationError({"value": value_error(parameter, str(value))}) from None

    try:
        with transaction.atomic():
            row = ParameterValue.objects.create(
                name=name,
                region=region,
                effective_from=effective_from,
                revision=current.revision + 1 if current else 1,
                value=encode_value(coerced),
                reference=reference,
                verified=bool(verified),
                reason=reason,
                created_by=user,
            )
    except IntegrityError:
        raise Conflict(_("同一取值刚被他人更正，请刷新后重试。"), path="supersedes") from None
    region_path = Region.objects.filter(code=region).values_list("path", flat=True).first() if region else ""
    record(
        actor=user,
        action="create",
        obj=row,
        region_path=region_path or "",
        before={"value": current.value, "id": current.pk} if current else None,
        after={
            "name": name,
            "region": region,
            "effective_from": effective_from.isoformat(),
            "value": row.value,
            "reference": reference,
            "verified": row.verified,
            "revision": row.revision,
        },
        reason=reason,
    )
    # Drop the cached ParameterSet now (this process) and again after commit (the readers that
    # rebuilt it meanwhile saw the old rows); other processes notice the new row id themselves.
    invalidate_parameter_cache()
    transaction.on_commit(invalidate_parameter_cache)
    return row


# --- what-if simulations (政策测算) ------------------------------------------------------------------

SIMULATION_ROLES = (Role.MUNICIPAL_ADMIN, Role.MUNICIPAL_SUPERVISOR)


def may_simulate(user: User) -> bool:
    """What-if runs cover the whole city (per-district totals), so they are for the municipal bureau."""
    return user.has_role(*SIMULATION_ROLES)


def freeze_registry(*, month: str, by: User | None = None) -> RegistrySnapshot:
    """冻结户籍库: every household with a current member, with its members, incomes, categories and
    dibao status in force in `month`, read in one consistent batch (the payroll's reader, Arrow — no
    query per row) and written as Parquet under DOUDI_DATA_DIR/registry-snapshots/; the snapshot's
    time, row counts and SHA-256 are recorded (audited), so a what-if says what it ran on."""
    from doudi.parameters.selectors import population_root
    from doudi.payments import payroll
    from doudi.policy.periods import Period

    taken_at = timezone.now()
    snapshot_id = uuid.uuid4()
    relative = Path(SNAPSHOT_DIR) / f"{taken_at:%Y%m%d-%H%M%S}-{snapshot_id.hex[:8]}"
    tables = payroll.read_registry(Period.parse(month))
    frozen = payroll.freeze(
        population_root() / relative, tables, payroll.parameters_json(stored_overlay_records(), {})
    )
    with transaction.atomic():
        snapshot = RegistrySnapshot.objects.create(
            id=snapshot_id,
            month=month,
            directory=str(relative),
            households=frozen.rows["households"],
            persons=frozen.rows["persons"],
            sha256=frozen.sha256,
            taken_at=taken_at,
            created_by=by,
        )
        record(
            actor=by,
            action="action",
            obj=snapshot,
            after={
                "what": "registry_snapshot",
                "month": month,
                "households": snapshot.households,
                "persons": snapshot.persons,
                "sha256": snapshot.sha256,
            },
        )
    return snapshot


@transaction.atomic
def start_simulation(*, user: User, period: str, overrides_text: str, population: str) -> SimulationRun:
    """发起测算: validate everything, record the run, and queue it for the worker (after commit).

    `population` is a population directory (`synth`), `registry` — the registry as it is when the run
    starts, frozen into a new snapshot by the worker — or `snapshot:<id>`, an earlier snapshot."""
    from doudi.parameters.overrides import check_period, parse_overrides
    from doudi.parameters.selectors import population_dirs, snapshot_of

    if not may_simulate(user):
        raise PermissionDenied(_("只有市级民政人员可以进行政策测算。"))
    errors: dict[str, list[str]] = {}
    try:
        period = check_period(period)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        overrides = parse_overrides(current_parameters(), overrides_text.splitlines())
    except ValidationError as error:
        errors.update(error.message_dict)
        overrides = {}
    snapshot = snapshot_of(population)
    if population != REGISTRY and snapshot is None and population not in population_dirs():
        errors.setdefault("population", []).append(_("没有这个人口数据。"))
    if errors:
        raise ValidationError(errors)
    run = SimulationRun.objects.create(
        period=period,
        overrides={k: encode_value(v) for k, v in overrides.items()},
        population=population,
        snapshot=snapshot,
        created_by=user,
    )
    record(
        actor=user,
        action="action",
        obj=run,
        after={"what": "simulation", "period": period, "overrides": run.overrides, "population": population},
    )
    from doudi.parameters.tasks import run_simulation

    transaction.on_commit(lambda: run_simulation.enqueue(str(run.pk)))
    return run
