from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupervisionConfig(AppConfig):
    """资金监管与监督检查: the checks on every payroll and their findings, inspection, audit review,
    whistle-blowers' reports (举报), funds across levels and the supervisors' dashboards."""

    name = "doudi.supervision"
    verbose_name = _("监督检查")
    console_nav: list = []
