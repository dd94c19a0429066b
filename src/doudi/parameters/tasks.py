"""Background work of the parameters app (django-tasks; `doudi worker` runs it)."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tasks import task

from doudi.parameters.models import SimulationRun, SimulationStatus, decode_value
from doudi.parameters.selectors import REGISTRY, current_parameters, population_root

logger = logging.getLogger(__name__)


@task()
def run_simulation(run_id: str) -> str:
    """政策测算: evaluate the population with and without the overrides; store the per-district table."""
    run = SimulationRun.objects.filter(pk=run_id).first()
    if run is None or run.finished:
        return "skipped"  # a duplicate enqueue (or a deleted run) must not compute twice
    SimulationRun.objects.filter(pk=run.pk).update(status=SimulationStatus.RUNNING, started_at=timezone.now())
    try:
        from doudi.parameters.services import freeze_registry
        from doudi.parameters.simulation import run_what_if

        snapshot = run.snapshot
        if run.population == REGISTRY and snapshot is None:
            # the registry as it is now: frozen first, so the run says what it ran on
            snapshot = freeze_registry(month=run.period, by=run.created_by)
            SimulationRun.objects.filter(pk=run.pk).update(snapshot=snapshot)
        directory = snapshot.directory if snapshot is not None else run.population
        overrides = {name: decode_value(text) for name, text in run.overrides.items()}
        table = run_what_if(run.period, population_root() / directory, current_parameters(), overrides)
    except Exception as error:  # the page must show a failure, not spin forever
        logger.exception("simulation %s failed", run.pk)
        SimulationRun.objects.filter(pk=run.pk).update(
            status=SimulationStatus.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=timezone.now(),
        )
        return "failed"
    SimulationRun.objects.filter(pk=run.pk).update(
        status=SimulationStatus.DONE, result=table, finished_at=timezone.now()
    )
    return "done"
