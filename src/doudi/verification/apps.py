from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import NavLink


class VerificationConfig(AppConfig):
    name = "doudi.verification"
    verbose_name = _("经济状况核对")
    console_nav = [
        NavLink("verification:index", _("核对"), order=50),
        NavLink("verification:signals", _("核对信号"), order=51),
    ]
