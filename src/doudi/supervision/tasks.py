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


@task()
def refresh_figures_task(month: str = "") -> list[str]:
    """Refresh one month's figures (or every stale month when none is named) and the contact figures."""
    from django.utils import timezone

    from doudi.policy.periods import Period
    from doudi.supervision import figures

    if month:
        done = [figures.refresh_month(Period.parse(month)).month]
        figures.refresh_contacts(timezone.localdate())
        return done
    return [r.month for r in figures.refresh_all()]


def refresh_after_payroll(sender, run, **kwargs) -> None:
    """A month's payroll is computed: queue its figures (the dashboards read them, never the lines)."""
    refresh_figures_task.enqueue(run.month)


def refresh_after_return(sender, imported, **kwargs) -> None:
    """A bank return changed lines' statuses (实发): queue every month whose figures are now behind."""
    refresh_figures_task.enqueue("")
