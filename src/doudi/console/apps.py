from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink


class ConsoleConfig(AppConfig):
    name = "doudi.console"
    verbose_name = _("工作台")
    console_nav = [
        NavLink("console:home", _("首页"), order=0),
        NavLink("console:search", _("人员查询"), Menu.PEOPLE, order=10),
        NavLink("console:duplicates", _("疑似重复"), Menu.PEOPLE, order=20),
    ]
