"""Background work of 资金发放 (django-tasks; `doudi worker` runs it)."""

from django_tasks import task


@task()
def compute_payroll_task(run_id: int) -> int:
    """Compute a frozen payroll run; its progress is the PayrollRun row. Returns its id."""
    from doudi.payments.models import PayrollRun
    from doudi.payments.services import compute_run

    return compute_run(PayrollRun.objects.get(pk=run_id)).pk
