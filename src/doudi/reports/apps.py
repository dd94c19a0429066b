from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink
from doudi.payments.apps import PAYROLL_ROLES

# Who reads the monthly statistics (统计月报): everyone who reads the payroll, and the township officers
# (their own township's figures).
REPORT_ROLES = ("township_officer", *PAYROLL_ROLES)


class ReportsConfig(AppConfig):
    """统计报表: the monthly statistical report of social-assistance payments (社会救助资金发放月报),
    read from the payment lines by aggregate SQL; no model of its own."""

    name = "doudi.reports"
    verbose_name = _("统计报表")
    console_nav = [NavLink("reports:monthly", _("统计月报"), Menu.CASES, order=62, roles=REPORT_ROLES)]
