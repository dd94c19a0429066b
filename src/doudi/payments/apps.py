from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink

# Who prepares, approves, confirms the payroll, and who supervises or audits it.
PAYROLL_ROLES = (
    "district_officer",
    "district_approver",
    "municipal_admin",
    "municipal_finance",
    "municipal_supervisor",
    "auditor",
)


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
        ),
        NavLink(
            "payments:payroll_runs",
            _("发放花名册"),
            Menu.CASES,
            order=60,
            roles=PAYROLL_ROLES,
        ),
        NavLink("payments:bank_list", _("代发银行"), Menu.SYSTEM, order=30, roles=("municipal_admin",)),
    ]
