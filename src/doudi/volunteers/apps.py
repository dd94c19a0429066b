from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.care.apps import INSTITUTION_READERS
from doudi.core.nav import Menu, NavLink

# Who reads the registry: the care pages' readers but institution staff.
READERS = tuple(r for r in INSTITUTION_READERS if r != "institution_staff")


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
