from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink


class PaymentsConfig(AppConfig):
    """资金发放: payee accounts, the monthly payroll (发放花名册), bank files and reconciliation."""

    name = "doudi.payments"
    verbose_name = _("资金发放")
    # The checkers' queue of account changes (maker-checker): district officers and approvers.
    console_nav = [
        NavLink(
            "payments:account_queue",
            _("待复核账户变更"),
            Menu.PEOPLE,
            order=47,
            roles=("district_officer", "district_approver"),
        )
    ]
