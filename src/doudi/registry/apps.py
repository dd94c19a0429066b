from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.accounts.roles import READ_ONLY_ROLES, Role
from doudi.core.nav import Menu, NavLink


class RegistryConfig(AppConfig):
    name = "doudi.registry"
    verbose_name = "人员与家庭"
    # Importing writes the registry: every role that acts, none of the read-only ones.
    console_nav = [
        NavLink(
            "registry:import",
            _("批量导入"),
            Menu.PEOPLE,
            order=30,
            roles=tuple(r.value for r in Role if r not in READ_ONLY_ROLES),
        ),
    ]
