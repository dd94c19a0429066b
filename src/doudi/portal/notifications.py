"""SMS to a household when its enrolment changes (增发、减发、停发、恢复发放、退出): the answer to
`benefits.signals.enrolment_changed`, connected in PortalConfig.ready. The written notice stays the
legal act; the message tells the household it is coming and where to look."""

from __future__ import annotations

from django.utils.translation import gettext as _

from doudi.portal.messaging import send_message
from doudi.portal.models import MessagePurpose


def change_text(change) -> str:
    e = change.enrolment
    values = {
        "scheme": e.get_scheme_display(),
        "m": change.effective_month.strftime("%Y-%m"),
        "a": (change.after or {}).get("monthly_amount"),
        "b": (change.before or {}).get("monthly_amount"),
    }
    if change.kind == "amount":
        text = _("【兜底救助】您的%(scheme)s自 %(m)s 起调整为每月 %(a)s 元（原 %(b)s 元）。") % values
    elif change.kind == "suspend":
        text = _("【兜底救助】您的%(scheme)s自 %(m)s 起暂停发放。") % values
    elif change.kind == "resume":
        text = _("【兜底救助】您的%(scheme)s自 %(m)s 起恢复发放，每月 %(a)s 元。") % values
    else:
        text = _("【兜底救助】您的%(scheme)s发放至 %(m)s，自次月起停止。") % values
    text += _("书面通知书将送达，不服可依法申请行政复议或提起行政诉讼。")
    if e.decision_case_id:
        text += _("凭受理编号 %(n)s 可在网上查询。") % {"n": e.decision_case.tracking_number}
    return text


def on_enrolment_changed(sender, change, **kwargs) -> None:
    """The beneficiary's phone (the person, or the dibao household's head); none registered: no message."""
    if change.kind == "enrolled":
        return  # the decision has its own notice and the portal's status page
    who = change.enrolment.beneficiary
    phone = getattr(who, "phone", "") if who is not None else ""
    if phone:
        send_message(
            phone=phone,
            text=change_text(change),
            purpose=MessagePurpose.OTHER,
            case=change.enrolment.decision_case,
        )
