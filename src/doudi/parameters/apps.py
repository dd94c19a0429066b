from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import NavLink


class ParametersConfig(AppConfig):
    name = "doudi.parameters"
    verbose_name = _("政策参数")
    console_nav = [NavLink("parameters:list", _("政策参数"), order=70)]
