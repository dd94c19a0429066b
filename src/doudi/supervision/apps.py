from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink
from doudi.supervision.roles import OVERSIGHT_ROLES

# Who reads the audit log from the console (audit_review.REVIEW_ROLES).
AUDIT_REVIEWERS = ("auditor", "municipal_supervisor", "district_supervisor")
# Who reads the whistle-blowers' queue (whistle.QUEUE_READERS); only the supervisors see who reported.
WHISTLE_READERS = ("municipal_supervisor", "district_supervisor", "auditor")


class SupervisionConfig(AppConfig):
    """资金监管与监督检查: the checks on every payroll and their findings, inspection, audit review,
    whistle-blowers' reports (举报), funds across levels and the supervisors' dashboards."""

    name = "doudi.supervision"
    verbose_name = _("监督检查")
    console_nav: list = [
        NavLink("supervision:findings", _("问题线索"), Menu.SUPERVISION, order=10),
        NavLink("supervision:relatives", _("近亲属备案"), Menu.SUPERVISION, order=60),
        NavLink(
            "supervision:audit_search", _("审计日志查阅"), Menu.SUPERVISION, order=70, roles=AUDIT_REVIEWERS
        ),
        NavLink(
            "supervision:audit_unusual", _("异常访问"), Menu.SUPERVISION, order=72, roles=AUDIT_REVIEWERS
        ),
        NavLink(
            "supervision:whistle_queue", _("举报受理"), Menu.SUPERVISION, order=50, roles=WHISTLE_READERS
        ),
        NavLink("supervision:dashboard", _("监管看板"), Menu.SUPERVISION, order=5, roles=OVERSIGHT_ROLES),
        NavLink("supervision:inspection", _("督查"), Menu.SUPERVISION, order=20, roles=OVERSIGHT_ROLES),
        NavLink("supervision:annual", _("年度公告"), Menu.SUPERVISION, order=55, roles=OVERSIGHT_ROLES),
        NavLink("supervision:funds", _("资金拨付进度"), Menu.SUPERVISION, order=40, roles=OVERSIGHT_ROLES),
    ]

    def ready(self) -> None:
        from doudi.payments.signals import payroll_computed, return_imported
        from doudi.supervision.tasks import on_payroll_computed, refresh_after_payroll, refresh_after_return

        payroll_computed.connect(on_payroll_computed, dispatch_uid="supervision.checks_after_payroll")
        payroll_computed.connect(refresh_after_payroll, dispatch_uid="supervision.figures_after_payroll")
        return_imported.connect(refresh_after_return, dispatch_uid="supervision.figures_after_return")
