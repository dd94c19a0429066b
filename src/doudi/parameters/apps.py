from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.accounts.roles import Role
from doudi.core.nav import Menu, NavLink


class ParametersConfig(AppConfig):
    name = "doudi.parameters"
    verbose_name = _("政策参数")
    console_nav = [
        NavLink("parameters:list", _("政策参数"), Menu.POLICY, order=10),
        # services.SIMULATION_ROLES, spelled out: services import models, not loaded yet here.
        NavLink(
            "parameters:simulate",
            _("政策测算"),
            Menu.POLICY,
            order=20,
            roles=(Role.MUNICIPAL_ADMIN, Role.MUNICIPAL_SUPERVISOR),
        ),
    ]
