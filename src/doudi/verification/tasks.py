"""Background work of 经济状况核对 (django-tasks; `doudi worker` runs it)."""

from django_tasks import task

from doudi.policy.periods import Period


@task()
def run_recheck_task(month: str) -> int:
    """The monthly re-check of `month` (YYYY-MM); its progress is the RecheckRun row. Returns its id."""
    from doudi.verification.services import execute_recheck

    return execute_recheck(Period.parse(month)).pk
