"""Background work of 救助待遇 (django-tasks; `doudi worker` runs it): the end-of-emergency preview
and the changes an approval applies; their progress is on the preview and the approval rows."""

from django_tasks import task


@task()
def compute_window_end_task(review_id: int) -> int:
    from doudi.benefits.models import WindowEndReview
    from doudi.benefits.services import compute_window_end

    return compute_window_end(WindowEndReview.objects.get(pk=review_id)).pk


@task()
def apply_window_end_task(approval_id: int) -> dict:
    from doudi.benefits.models import WindowEndApproval
    from doudi.benefits.services import apply_window_end

    return apply_window_end(
        WindowEndApproval.objects.select_related("review", "district", "by").get(pk=approval_id)
    )
