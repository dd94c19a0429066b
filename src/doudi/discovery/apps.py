from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink


class DiscoveryConfig(AppConfig):
    """主动发现 (应保尽保): monthly sweeps for people probably eligible and receiving nothing, and the
    townships' outreach queue."""

    name = "doudi.discovery"
    verbose_name = _("主动发现")
    console_nav = [
        NavLink("discovery:queue", _("主动发现线索"), Menu.CASES, order=60),
        NavLink("discovery:districts", _("主动发现统计"), Menu.CASES, order=61),
    ]
