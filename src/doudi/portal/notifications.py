"""SMS to a household when something happens to it: its case is accepted (受理) or decided (审批结果),
its enrolment changes (增发、减发、停发、恢复发放、退出), or the bank returns a payment as failed
(发放失败). The answers to `intake.signals.case_transitioned`, `benefits.signals.enrolment_changed` and
`payments.signals.return_imported`, connected in PortalConfig.ready; those apps never import the portal.

The written notice stays the legal act; the message tells the household it is coming and where to look.
Every message goes once per event (`notify_once`: a unique key per event in `Notification`), whatever
backend sends it and however often the event is announced.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from doudi.payments.bankfiles import yuan_text
from doudi.portal.messaging import SendResult, send_message
from doudi.portal.models import MessagePurpose, Notification

logger = logging.getLogger(__name__)

SIGN = "【兜底救助】"


def notify_once(*, key: str, phone: str, text: str, purpose: str, case=None) -> SendResult | None:
    """Send unless this event (`key`) was already sent; None when it was (or there is no phone).
    The key is committed before sending, so two announcements of one event cannot both send."""
    if not phone:
        return None
    try:
        with transaction.atomic():
            notification = Notification.objects.create(key=key[:64], purpose=purpose)
    except IntegrityError:
        return None
    result = send_message(phone=phone, text=text, purpose=purpose, case=case)
    if result.ok:
        Notification.objects.filter(pk=notification.pk).update(sent=True)
    return result


def _lookup(case) -> str:
    return _("凭受理编号 %(n)s 可在网上查询。") % {"n": case.tracking_number}


def case_phone(case) -> str:
    """The phone given with the case, else the applicant's phone in the registry."""
    return case.applicant_phone or (getattr(case.applicant, "phone", "") if case.applicant_id else "")


# --- 受理 and 审批结果 -------------------------------------------------------------------------------------


def case_text(case, transition, notice: str) -> str:
    from doudi.intake.flows import NOTICE_ACCEPTANCE, NOTICE_DECISION

    scheme = case.get_case_type_display()
    if notice == NOTICE_ACCEPTANCE:
        text = _("%(sign)s您的%(scheme)s申请已受理（受理编号 %(n)s）。") % {
            "sign": SIGN,
            "scheme": scheme,
            "n": case.tracking_number,
        }
        if case.due_on:
            text += _("办理期限至 %(d)s。") % {"d": case.due_on.strftime("%Y-%m-%d")}
        return text + _("可凭受理编号在网上查询办理进度。")
    if case.case_type == "change_report" and notice in (NOTICE_ACCEPTANCE, NOTICE_DECISION):
        return report_text(case, notice)
    if notice == NOTICE_DECISION:
        decision = (case.details or {}).get("decision") or {}
        text = _("%(sign)s您的%(scheme)s申请已批准。") % {"sign": SIGN, "scheme": scheme}
        if decision.get("amount") and decision.get("from_month"):
            text += _("自 %(m)s 起每月 %(a)s 元。") % {
                "m": str(decision["from_month"])[:7],
                "a": decision["amount"],
            }
        elif decision.get("amount"):
            text += _("救助金额 %(a)s 元。") % {"a": decision["amount"]}
    elif transition.to_state == "rejected":
        text = _("%(sign)s您的%(scheme)s申请不予受理。") % {"sign": SIGN, "scheme": scheme}
    else:
        text = _("%(sign)s您的%(scheme)s申请不予批准。") % {"sign": SIGN, "scheme": scheme}
    text += _("书面决定书将送达，不服可依法申请行政复议或提起行政诉讼。")
    return text + _lookup(case)


def report_text(case, notice: str) -> str:
    """A household's change report (家庭情况变化报告): accepted, or decided — the new amount and month,
    kept, stopped, or deferred by the emergency window. It stands for the enrolment change it makes."""
    from doudi.intake.flows import NOTICE_ACCEPTANCE

    n = {"n": case.tracking_number}
    if notice == NOTICE_ACCEPTANCE:
        return (
            _(
                "【兜底救助】您报告的家庭情况变化已受理，受理编号 %(n)s。乡镇（街道）将核实变化情况，重新核定低保金。"
            )
            % n
        )
    d = (case.details or {}).get("decision") or {}
    values = {
        "b": d.get("previous_amount"),
        "a": d.get("amount"),
        "m": str(d.get("from_month") or d.get("end_month") or "")[:7],
    }
    outcome = d.get("outcome")
    if d.get("deferred"):
        text = (
            _(
                "【兜底救助】已决定：经重新核定，您家的低保金应调整；按疫情防控期间的规定暂缓执行，现继续每月 %(b)s 元。"
            )
            % values
        )
    elif outcome in ("raise", "reduce"):
        text = _("【兜底救助】已决定：您家的低保金自 %(m)s 起调整为每月 %(a)s 元（原 %(b)s 元）。") % values
    elif outcome == "exit":
        text = _("【兜底救助】已决定：您家的低保金发放至 %(m)s，自次月起停止。") % values
    else:
        text = _("【兜底救助】已决定：经重新核定，您家的低保金维持每月 %(b)s 元不变。") % values
    return text + _("书面决定书将送达，不服可依法申请行政复议或提起行政诉讼。") + _lookup(case)


def on_case_transitioned(sender, case, transition, by=None, **kwargs) -> None:
    """Accepted, approved, refused or rejected (the steps that print 受理通知书 or a decision): a message
    once the step is committed."""
    from doudi.intake.flows import NOTICE_ACCEPTANCE, NOTICE_DECISION, NOTICE_REFUSAL, flow_for

    action = flow_for(case.case_type).action(transition.action)
    notice = action.notice if action is not None else ""
    if notice not in (NOTICE_ACCEPTANCE, NOTICE_DECISION, NOTICE_REFUSAL):
        return
    purpose = MessagePurpose.ACCEPTED if notice == NOTICE_ACCEPTANCE else MessagePurpose.DECIDED
    case_pk, seq = case.pk, transition.seq

    def send() -> None:
        from doudi.intake.models import Case

        fresh = Case.objects.select_related("applicant").filter(pk=case_pk).first()
        if fresh is None:
            return
        notify_once(
            key=f"case:{case_pk}:{seq}",
            phone=case_phone(fresh),
            text=case_text(fresh, transition, notice),
            purpose=purpose,
            case=fresh,
        )

    transaction.on_commit(send)


# --- 待遇变更 -----------------------------------------------------------------------------------------------


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
        text += _lookup(e.decision_case)
    return text


def on_enrolment_changed(sender, change, **kwargs) -> None:
    """The beneficiary's phone (the person, or the dibao household's head); none registered: no message."""
    if change.kind == "enrolled":
        return  # the decision has its own message (on_case_transitioned) and notice
    if change.case_id and change.case.case_type == "change_report":
        return  # the change report's "已决定" message says it (report_text)
    who = change.enrolment.beneficiary
    notify_once(
        key=f"change:{change.pk}",
        phone=getattr(who, "phone", "") if who is not None else "",
        text=change_text(change),
        purpose=MessagePurpose.CHANGED,
        case=change.enrolment.decision_case,
    )


# --- 发放失败 -----------------------------------------------------------------------------------------------


def failed_text(line) -> str:
    text = _("%(sign)s您 %(m)s 的%(scheme)s %(a)s 元未能到账") % {
        "sign": SIGN,
        "m": line.month,
        "scheme": line.get_scheme_display(),
        "a": yuan_text(line.amount_fen),
    }
    if line.failure_reason:
        text += _("（银行反馈：%(r)s）") % {"r": line.failure_reason[:40]}
    return text + _("，账户问题，请带身份证和银行卡到村（社区）或乡镇（街道）更正收款账户，更正后补发。")


def payment_phone(line) -> str:
    """Who was to be paid (the person, or the household's head for a household scheme)."""
    phone = getattr(line.person, "phone", "")
    if not phone and line.household.head_id:
        phone = line.household.head.phone
    return phone


def on_return_imported(sender, imported, **kwargs) -> None:
    """Each line of the bank file the bank returned failed, once per attempt (a line re-issued by a
    follow-up run and failed again is a new event)."""
    from doudi.payments.models import LineStatus, PaymentLine

    bank_file = imported.bank_file
    lines = PaymentLine.objects.filter(
        issue_run=bank_file.run_id, bank_code=bank_file.bank.code, status=LineStatus.FAILED
    ).select_related("person", "household__head")
    for line in lines.order_by("pk"):
        notify_once(
            key=f"failed:{line.pk}:{line.issue_run_id}",
            phone=payment_phone(line),
            text=failed_text(line),
            purpose=MessagePurpose.PAYMENT_FAILED,
        )


# --- 床位预警 (rescue, 二(三)) ---------------------------------------------------------------------------


def saturation_text(alert) -> str:
    return _(
        "%(sign)s%(station)s %(day)s 在站 %(n)s 人（床位 %(cap)s 张），已达预警线 %(pct)s%%，"
        "请及时开设临时庇护场所（关爱服务→床位预警）。"
    ) % {
        "sign": SIGN,
        "station": alert.station.name,
        "day": alert.day.strftime("%Y-%m-%d"),
        "n": alert.occupants,
        "cap": alert.capacity,
        "pct": alert.threshold_percent,
    }


def on_saturation_alerted(sender, alert, **kwargs) -> None:
    """An SMS to the station's alert phone (the district's duty mobile), once per alert."""
    notify_once(
        key=f"station-alert:{alert.pk}",
        phone=alert.station.alert_phone,
        text=saturation_text(alert),
        purpose=MessagePurpose.OTHER,
    )
