from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    """资金发放: payee accounts, the monthly payroll (发放花名册), bank files and reconciliation."""

    name = "doudi.payments"
    verbose_name = _("资金发放")
