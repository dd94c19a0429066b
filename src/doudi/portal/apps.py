from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from doudi.core.nav import Menu, NavLink


class PortalConfig(AppConfig):
    name = "doudi.portal"
    verbose_name = _("群众服务")
    # The development SMS outbox (DOUDI_SMS_BACKEND=outbox); in DEBUG every console user may open it.
    console_nav = [
        NavLink("portal:outbox", _("短信发件箱"), Menu.SYSTEM, order=90, roles=("municipal_admin",))
    ]

    def ready(self):
        from doudi.benefits.signals import enrolment_changed
        from doudi.portal.notifications import on_enrolment_changed

        # An SMS to the household when its enrolment changes (the benefits stage does not import us).
        enrolment_changed.connect(on_enrolment_changed, dispatch_uid="portal-enrolment-sms")
