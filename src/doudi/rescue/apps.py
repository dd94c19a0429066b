from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink

# Who reads the rescue pages: station staff, patrol reporters and the officers above them.
RESCUE_READERS = (
    "rescue_station",
    "patrol_reporter",
    "village_worker",
    "township_officer",
    "district_officer",
    "district_approver",
    "municipal_admin",
    "municipal_supervisor",
    "auditor",
)
# Who files a patrol's field report (services.REPORTERS).
PATROL_REPORTERS = (
    "patrol_reporter",
    "rescue_station",
    "village_worker",
    "township_officer",
    "district_officer",
)


class RescueConfig(AppConfig):
    name = "doudi.rescue"
    verbose_name = _("救助管理")
    console_nav = [
        NavLink("rescue:stranded_list", _("滞留人员"), Menu.CARE, order=45, roles=RESCUE_READERS),
        NavLink("rescue:station_list", _("救助管理站"), Menu.CARE, order=50, roles=RESCUE_READERS),
        NavLink("rescue:report_new", _("巡查报告"), Menu.CARE, order=55, roles=PATROL_REPORTERS),
        NavLink("rescue:alerts", _("床位预警"), Menu.CARE, order=60, roles=RESCUE_READERS),
        NavLink("rescue:missing_checks", _("防控检查缺报"), Menu.CARE, order=65, roles=RESCUE_READERS),
    ]
