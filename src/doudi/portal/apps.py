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
        from doudi.intake.signals import case_transitioned
        from doudi.payments.signals import return_imported
        from doudi.portal import notifications
        from doudi.rescue.signals import saturation_alerted

        # An SMS to the household when its case is accepted or decided, its enrolment changes, or a
        # payment comes back failed (those apps do not import us).
        case_transitioned.connect(notifications.on_case_transitioned, dispatch_uid="portal-case-sms")
        enrolment_changed.connect(notifications.on_enrolment_changed, dispatch_uid="portal-enrolment-sms")
        return_imported.connect(notifications.on_return_imported, dispatch_uid="portal-payment-sms")
        # The district's duty mobile when a rescue station reaches its saturation line (二(三)).
        saturation_alerted.connect(notifications.on_saturation_alerted, dispatch_uid="portal-station-sms")
