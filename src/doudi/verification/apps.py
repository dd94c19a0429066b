from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink


class VerificationConfig(AppConfig):
    name = "doudi.verification"
    verbose_name = _("经济状况核对")
    console_nav = [
        NavLink("verification:index", _("经济状况核对"), Menu.VERIFICATION, order=10),
        NavLink("verification:signals", _("核对信号"), Menu.VERIFICATION, order=20),
        NavLink("verification:deferred", _("暂缓减发/退出清单"), Menu.VERIFICATION, order=30),
        NavLink("verification:rechecks_overdue", _("定期复核"), Menu.VERIFICATION, order=35),
        NavLink("verification:runs", _("月度动态复核"), Menu.VERIFICATION, order=40),
        NavLink("verification:extracts", _("部门数据"), Menu.VERIFICATION, order=50),
    ]
