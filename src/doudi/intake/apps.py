from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink


class IntakeConfig(AppConfig):
    name = "doudi.intake"
    verbose_name = _("一门受理")
    # Read-only roles (supervisor, auditor) see the case list too; they just get no action buttons.
    console_nav = [
        NavLink("intake:list", _("案件"), Menu.CASES, order=10),
        NavLink("intake:transfers", _("转办转介"), Menu.CASES, order=20),
        NavLink(
            "intake:covid",
            _("新冠事件"),
            Menu.PEOPLE,
            order=40,
            roles=(
                "village_worker",
                "township_officer",
                "district_officer",
                "municipal_admin",
                "municipal_supervisor",
                "auditor",
            ),
        ),
        NavLink("intake:coverage", _("建档立卡覆盖"), Menu.PEOPLE, order=50),
        NavLink("intake:holidays", _("节假日安排"), Menu.SYSTEM, order=40),
    ]

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from doudi.regions.models import EmergencyWindowEvent

        post_save.connect(_window_changed, sender=EmergencyWindowEvent, dispatch_uid="intake.window_changed")
        # The business workflows (dibao, children, temporary …) register their flows over the
        # placeholders here, so every process (web, worker, tests) starts with the full tables.
        import doudi.intake.workflows  # noqa: F401


def _window_changed(sender, instance, created, **kwargs):
    """A window was declared or ended: the dibao limits (7 working days / 30 days) of open cases may
    change. Runs inside the declaring transaction, so the new limits commit with the declaration."""
    if created and not kwargs.get("raw"):
        from doudi.intake.services import refresh_window_sensitive_cases

        refresh_window_sensitive_cases()
