"""Background work of 监督检查 (django-tasks; `doudi worker` runs it)."""

from django_tasks import task


@task()
def supervise_task(month: str, trigger: str = "payroll", user_id: int | None = None) -> int:
    """Run the checks over a month's payroll; returns the CheckRun's id."""
    from doudi.accounts.models import User
    from doudi.supervision.services import run_checks

    by = User.objects.filter(pk=user_id).first() if user_id else None
    return run_checks(month, by=by, trigger=trigger).pk


def on_payroll_computed(sender, run, **kwargs) -> None:
    """A month's payroll is computed: queue its checks (they never slow the payroll down)."""
    supervise_task.enqueue(run.month)
