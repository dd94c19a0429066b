from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink

READERS = (
    "village_worker",
    "township_officer",
    "district_officer",
    "district_approver",
    "municipal_admin",
    "municipal_supervisor",
    "auditor",
)


class VolunteersConfig(AppConfig):
    name = "doudi.volunteers"
    verbose_name = _("志愿者和社会组织")
    console_nav = [
        NavLink("volunteers:list", _("志愿者"), Menu.CARE, order=75, roles=READERS),
        NavLink("volunteers:organisations", _("社会组织"), Menu.CARE, order=76, roles=READERS),
    ]

    def ready(self) -> None:
        from doudi.care.signals import care_ended
        from doudi.volunteers.services import on_care_ended

        care_ended.connect(on_care_ended, dispatch_uid="doudi.volunteers.care_ended")
