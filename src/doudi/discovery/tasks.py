"""Background work of 主动发现 (django-tasks; `doudi worker` runs it)."""

import datetime

from django_tasks import task


@task()
def run_sweep_task(day: str) -> int:
    """The sweep of `day` (YYYY-MM-DD); returns the SweepRun's id."""
    from doudi.discovery.services import execute_sweep

    return execute_sweep(datetime.date.fromisoformat(day)).pk
