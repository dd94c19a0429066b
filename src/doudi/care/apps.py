from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink

# Who works the institution pages (机构人员, and the officers above them) and the contact pages.
INSTITUTION_READERS = (
    "institution_staff",
    "village_worker",
    "township_officer",
    "district_officer",
    "district_approver",
    "municipal_admin",
    "municipal_supervisor",
    "auditor",
)

# Who takes hotline calls (township and district officers) and who reads them.
HOTLINE_READERS = (
    "township_officer",
    "district_officer",
    "district_approver",
    "municipal_admin",
    "municipal_supervisor",
    "district_supervisor",
    "auditor",
)


class CareConfig(AppConfig):
    name = "doudi.care"
    verbose_name = _("关爱服务")
    console_nav = [
        NavLink("care:institution_list", _("服务机构"), Menu.CARE, order=10, roles=INSTITUTION_READERS),
        NavLink("care:missing_reports", _("日报缺报"), Menu.CARE, order=20, roles=INSTITUTION_READERS),
        NavLink("care:risk_areas", _("高风险地区"), Menu.CARE, order=30, roles=INSTITUTION_READERS),
        NavLink("care:overdue_contacts", _("探访逾期"), Menu.CARE, order=40),
        NavLink("care:child_reports", _("无人监护儿童"), Menu.CARE, order=50),
        NavLink("care:arrangements", _("照料安排"), Menu.CARE, order=70),
        NavLink("care:hotline_calls", _("热线来电"), Menu.CARE, order=85, roles=HOTLINE_READERS),
        NavLink("care:psych_aid", _("心理援助"), Menu.CARE, order=90),
        NavLink("care:psych_aid_overdue", _("心理援助回访逾期"), Menu.CARE, order=95),
    ]

    def ready(self) -> None:
        from doudi.care.services import on_covid_event
        from doudi.intake.signals import covid_event_recorded

        covid_event_recorded.connect(on_covid_event, dispatch_uid="doudi.care.psych_aid")
