from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink


class BenefitsConfig(AppConfig):
    name = "doudi.benefits"
    verbose_name = _("救助待遇")
    # Every console user of the region (read-only roles included) may consult the roster.
    console_nav = [
        NavLink("benefits:list", _("在保名册"), Menu.PEOPLE, order=45),
        # After the emergency window: the re-check's reductions and exits, each decided in writing.
        NavLink(
            "benefits:recheck_proposals",
            _("减发/退出待办"),
            Menu.VERIFICATION,
            order=60,
            roles=("township_officer", "district_officer", "district_approver"),
        ),
        # When the bureau declares the window's end: the whole effect, approved before it is applied.
        NavLink(
            "benefits:window_end_list",
            _("疫情防控期结束：影响预览"),
            Menu.VERIFICATION,
            order=65,
            roles=(
                "district_officer",
                "district_approver",
                "municipal_admin",
                "municipal_supervisor",
                "auditor",
            ),
        ),
    ]
