from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink


class RegionsConfig(AppConfig):
    name = "doudi.regions"
    verbose_name = _("行政区划")
    console_nav = [
        NavLink("regions:window_list", _("疫情防控期间"), Menu.SYSTEM, order=10),
        NavLink("regions:hotline_list", _("服务热线"), Menu.SYSTEM, order=20),
        NavLink("regions:authority_list", _("盖章单位"), Menu.SYSTEM, order=30),
    ]
