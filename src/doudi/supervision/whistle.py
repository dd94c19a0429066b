"""举报 (条例第34条, issue 12 part 4): whistle-blowers' reports — filing from the public form, the status a
reporter looks up with the tracking number, and the supervisors' queue (assign, conclude).

The reporter is protected: their name, phone and ID number are shown to the supervisor roles
(`SUPERVISOR_ROLES`: 市民政监督员, 区县民政监督员) and to nobody else — not to case officers, auditors,
district officers or administrators, on no page, export or API. Every staff read of a report goes
through `report_view`, which carries the identity only for a supervisor (and logs that read); the
audit log, written for every step, never holds it.

State machine: received → assigned (→ assigned again: reassigned) → concluded (with an outcome); a
report may be concluded straight from received (a duplicate, or not the bureau's matter). Every step
is a row in the insert-only WhistleTransition ledger; a stale version is a Conflict (409).
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.accounts.models import User
from doudi.accounts.roles import SUPERVISOR_ROLES, Role
from doudi.audit.services import record, record_read
from doudi.core.errors import Conflict
from doudi.core.fields import clean_field_text, raise_field_errors, require
from doudi.core.masking import mask_name
from doudi.core.text import clean_multiline_text, clean_text
from doudi.intake import sla
from doudi.regions.models import Region
from doudi.registry import identity
from doudi.supervision.models import (
    WhistleKind,
    WhistleOutcome,
    WhistleReport,
    WhistleState,
    WhistleTransition,
)

# 办理时限: a report is answered within this many working days of its receipt (a bureau's choice —
# the regulation sets none; docs/supervision.md).
HANDLING_WORKING_DAYS = 15
MAX_BODY = 2000
MAX_ABOUT = 100
MAX_REPLY = 1000
MAX_FINDINGS = 5000
# The same text from another form within this window is marked as a likely duplicate of the first.
DUPLICATE_WINDOW = datetime.timedelta(days=30)
# Tracking numbers: JB + 12 characters of an alphabet without look-alikes (0/O, 1/I/L): 31^12 ≈ 8×10^17.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
TRACKING_RE = re.compile(rf"^JB[{_ALPHABET}]{{12}}$")

# Who reads the queue: the supervisors (with the identity) and the auditor (without it).
QUEUE_READERS = (Role.MUNICIPAL_SUPERVISOR, Role.DISTRICT_SUPERVISOR, Role.AUDITOR)

OBJECT_TYPE = "supervision.whistlereport"


def can_see_identity(user: Any) -> bool:
    """Only the supervisor roles ever see who reported."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_role(*SUPERVISOR_ROLES)


def can_read_queue(user: Any) -> bool:
    return bool(getattr(user, "region_id", None)) and user.has_role(*QUEUE_READERS)


def can_handle(user: Any) -> bool:
    """Assigning and concluding: the supervisors."""
    return bool(getattr(user, "region_id", None)) and can_see_identity(user)


# --- filing (the public form) --------------------------------------------------------------------------------


def new_tracking_number() -> str:
    return "JB" + "".join(secrets.choice(_ALPHABET) for _ in range(12))


def normalise_tracking(raw: Any) -> str:
    text = unicodedata.normalize("NFKC", clean_text(raw)).upper().replace("-", "").replace(" ", "")
    return text[:32]


def _fingerprint(region: Region, kind: str, about: str, body: str) -> str:
    text = re.sub(r"\s+", "", f"{region.code}|{kind}|{about}|{body}")
    return hashlib.sha256(text.encode()).hexdigest()


def _clean_phone(errors: dict[str, str], raw: Any) -> str:
    """A mobile or landline number as digits (and one leading +), 7 to 20 of them."""
    text = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", clean_text(raw)))
    if text and not re.fullmatch(r"\+?\d{7,20}", text):
        errors["reporter_phone"] = _("请填写有效的电话号码。")
    return text[:20]


@dataclass(frozen=True)
class Filed:
    report: WhistleReport
    again: bool  # the same form sent a second time: the report filed the first time


def districts() -> QuerySet[Region]:
    """The districts a report may concern (区县, and 两江新区 etc.), for the form's choice."""
    return Region.objects.filter(level=2).order_by("code")


@transaction.atomic
def file_report(
    *,
    submission: str,
    district: Any,
    kind: Any,
    body: Any,
    about: Any = "",
    anonymous: bool = True,
    reporter_name: Any = "",
    reporter_phone: Any = "",
    reporter_id_number: Any = "",
    now: datetime.datetime | None = None,
) -> Filed:
    """受理举报: validate the whole form (every problem named at once), then file it once."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    token = clean_text(submission)
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,64}", token):
        errors["submission"] = _("表单已失效，请刷新页面后重新填写。")
    region = districts().filter(code=clean_text(district)).first()
    if region is None:
        errors["district"] = _("请选择举报事项所在的区县。")
    kind = clean_text(kind)
    if kind not in WhistleKind.values:
        errors["kind"] = _("请选择举报类型。")
    text = clean_multiline_text(body)
    if not text:
        errors["body"] = _("请填写此项。")
    elif len(text) > MAX_BODY:
        errors["body"] = _("不能超过 %(n)s 个字。") % {"n": MAX_BODY}
    about_text = clean_field_text(errors, "about", about, required=False, max_length=MAX_ABOUT)
    name = phone = id_number = ""
    if not anonymous:
        name = clean_field_text(errors, "reporter_name", reporter_name, required=True, max_length=64)
        phone = _clean_phone(errors, reporter_phone)
        if not phone and "reporter_phone" not in errors:
            errors["reporter_phone"] = _("实名举报请留下联系电话，以便核实和答复。")
        if clean_text(reporter_id_number):
            try:
                id_number = identity.validate(clean_text(reporter_id_number))
            except ValidationError:
                errors["reporter_id_number"] = _("身份证号码有误，请核对（也可不填）。")
    raise_field_errors(errors)
    assert region is not None
    earlier = WhistleReport.objects.filter(submission=token).first()
    if earlier is not None:
        return Filed(earlier, again=True)
    fingerprint = _fingerprint(region, kind, about_text, text)
    duplicate_of = (
        WhistleReport.objects.filter(fingerprint=fingerprint, received_at__gte=now - DUPLICATE_WINDOW)
        .order_by("received_at", "pk")
        .first()
    )
    due_on, sla_error = _due(now)
    try:
        with transaction.atomic():
            report = WhistleReport.objects.create(
                tracking_number=new_tracking_number(),
                submission=token,
                fingerprint=fingerprint,
                region=region,
                kind=kind,
                about=about_text,
                body=text,
                anonymous=anonymous,
                reporter_name=name,
                reporter_phone=phone,
                reporter_id_number=id_number,
                duplicate_of=duplicate_of,
                received_at=now,
                due_on=due_on,
                sla_error=sla_error,
            )
    except IntegrityError:
        # The same form landing twice at the same moment: the first one stands.
        earlier = WhistleReport.objects.filter(submission=token).first()
        if earlier is None:
            raise
        return Filed(earlier, again=True)
    _transition(report, "file", "", WhistleState.RECEIVED, by=None, at=now, note="")
    record(
        actor=None,
        action="create",
        obj=report,
        region_path=region.path,
        # Never the identity: the audit log is read by auditors.
        after={"tracking_number": report.tracking_number, "kind": kind, "anonymous": anonymous},
        reason="举报受理（群众服务）",
    )
    return Filed(report, again=False)


def _due(now: datetime.datetime) -> tuple[datetime.date | None, str]:
    try:
        return sla.add_working_days(timezone.localdate(now), HANDLING_WORKING_DAYS), ""
    except sla.SlaUnavailable as exc:
        return None, exc.message[:300]


def _transition(
    report: WhistleReport,
    action: str,
    from_state: str,
    to_state: str,
    *,
    by: Any,
    at: datetime.datetime,
    note: str,
) -> WhistleTransition:
    return WhistleTransition.objects.create(
        report=report,
        seq=report.version,
        action=action,
        from_state=from_state,
        to_state=to_state,
        by=by if getattr(by, "pk", None) else None,
        at=at,
        note=note,
    )


# --- the reporter's status page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicStatus:
    tracking_number: str
    state: str
    state_label: str
    received_on: datetime.date
    due_on: datetime.date | None
    outcome_label: str
    reply: str
    concluded_on: datetime.date | None


def public_status(raw_tracking: Any) -> PublicStatus | None:
    """What the reporter sees: the state, the time limit and the answer — nothing about who handles it
    or what was found, and nothing of the reporter."""
    number = normalise_tracking(raw_tracking)
    if not TRACKING_RE.match(number):
        return None
    report = WhistleReport.objects.filter(tracking_number=number).first()
    if report is None:
        return None
    return PublicStatus(
        tracking_number=report.tracking_number,
        state=report.state,
        state_label=report.get_state_display(),
        received_on=timezone.localdate(report.received_at),
        due_on=report.due_on,
        outcome_label=report.get_outcome_display() if report.outcome else "",
        reply=report.reply,
        concluded_on=timezone.localdate(report.concluded_at) if report.concluded_at else None,
    )


# --- the queue (console) ---------------------------------------------------------------------------------------------


def queue(user: User, *, state: str = "", overdue_on: datetime.date | None = None) -> QuerySet[WhistleReport]:
    """The reports in the reader's region, oldest due first; `overdue_on` keeps those past due."""
    if not can_read_queue(user):
        return WhistleReport.objects.none()
    qs = WhistleReport.objects.visible_to(user).select_related("region", "assigned_to")
    if state in WhistleState.values:
        qs = qs.filter(state=state)
    if overdue_on is not None:
        qs = qs.exclude(state=WhistleState.CONCLUDED).filter(due_on__lt=overdue_on)
    return qs.order_by("state", "due_on", "received_at", "pk")


@dataclass(frozen=True)
class Identity:
    anonymous: bool
    name: str
    phone: str
    id_number: str


@dataclass
class ReportView:
    """A report as one staff user may see it: `identity` is None unless they are a supervisor."""

    report: WhistleReport
    identity: Identity | None
    can_handle: bool
    transitions: list[WhistleTransition]

    @property
    def overdue(self) -> bool:
        return (
            self.report.state != WhistleState.CONCLUDED
            and self.report.due_on is not None
            and self.report.due_on < timezone.localdate()
        )


def identity_of(user: Any, report: WhistleReport) -> Identity | None:
    if not can_see_identity(user):
        return None
    return Identity(
        anonymous=report.anonymous,
        name=report.reporter_name,
        phone=report.reporter_phone,
        id_number=report.reporter_id_number,
    )


def report_view(user: User, pk: int) -> ReportView:
    """One report (404 outside the reader's region or role); a supervisor's read of a named reporter's
    identity is logged."""
    if not can_read_queue(user):
        raise Http404
    try:
        report = (
            WhistleReport.objects.visible_to(user)
            .select_related("region", "assigned_to", "duplicate_of")
            .get(pk=pk)
        )
    except WhistleReport.DoesNotExist as exc:
        raise Http404 from exc
    ident = identity_of(user, report)
    record_read(
        actor=user,
        obj=report,
        reason="举报详情（含举报人信息）" if ident and not report.anonymous else "举报详情",
    )
    return ReportView(
        report=report,
        identity=ident,
        can_handle=can_handle(user) and report.state != WhistleState.CONCLUDED,
        transitions=list(report.transitions.select_related("by").order_by("seq")),
    )


def assignees(user: User, report: WhistleReport) -> QuerySet[User]:
    """Who may take a report: a supervisor whose region holds the report's district."""
    ancestors = [p for p in report.region.path.split("/") if p]
    paths = ["/".join(ancestors[: i + 1]) + "/" for i in range(len(ancestors))]
    return (
        User.objects.filter(
            is_active=True, groups__name__in=[str(r) for r in SUPERVISOR_ROLES], region__path__in=paths
        )
        .distinct()
        .order_by("username")
    )


def _locked(user: User, pk: int, version: Any) -> WhistleReport:
    require(can_handle(user))
    try:
        report = (
            WhistleReport.objects.visible_to(user).select_for_update().select_related("region").get(pk=pk)
        )
    except WhistleReport.DoesNotExist as exc:
        raise Http404 from exc
    if str(version) != str(report.version):
        raise Conflict(_("该举报已被他人处理，请刷新页面后再操作。"))
    if report.state == WhistleState.CONCLUDED:
        raise Conflict(_("该举报已办结。"))
    return report


@transaction.atomic
def assign(*, by: User, pk: int, version: Any, assignee_id: Any, note: Any = "") -> WhistleReport:
    """交办: give the report to a supervisor to investigate (again, to reassign)."""
    report = _locked(by, pk, version)
    errors: dict[str, str] = {}
    text = clean_field_text(errors, "note", note, required=False, max_length=500)
    assignee = assignees(by, report).filter(pk=int(assignee_id) if str(assignee_id).isdigit() else 0).first()
    if assignee is None:
        errors["assignee"] = _("请选择负责该区县的监督员。")
    raise_field_errors(errors)
    assert assignee is not None
    before = report.state
    report.state, report.assigned_to, report.version = WhistleState.ASSIGNED, assignee, report.version + 1
    report.save(update_fields=["state", "assigned_to", "version"])
    _transition(report, "assign", before, report.state, by=by, at=timezone.now(), note=text)
    record(
        actor=by,
        action="action",
        obj=report,
        before={"state": before},
        after={"state": report.state, "assigned_to": assignee.username},
        reason="举报交办",
    )
    return report


@transaction.atomic
def conclude(*, by: User, pk: int, version: Any, outcome: Any, findings: Any, reply: Any) -> WhistleReport:
    """办结: the outcome, what the investigation found (internal) and the answer the reporter reads."""
    report = _locked(by, pk, version)
    errors: dict[str, str] = {}
    outcome = clean_text(outcome)
    if outcome not in WhistleOutcome.values:
        errors["outcome"] = _("请选择办理结果。")
    elif report.state == WhistleState.RECEIVED and outcome not in (
        WhistleOutcome.DUPLICATE,
        WhistleOutcome.REFERRED,
    ):
        errors["outcome"] = _("未经调查核实的举报只能以“重复举报”或“转有关部门”办结，请先交办。")
    findings_text = clean_multiline_text(findings)
    if not findings_text:
        errors["findings"] = _("请填写此项。")
    elif len(findings_text) > MAX_FINDINGS:
        errors["findings"] = _("不能超过 %(n)s 个字。") % {"n": MAX_FINDINGS}
    reply_text = clean_multiline_text(reply)
    if not reply_text:
        errors["reply"] = _("请填写此项。")
    elif len(reply_text) > MAX_REPLY:
        errors["reply"] = _("不能超过 %(n)s 个字。") % {"n": MAX_REPLY}
    raise_field_errors(errors)
    before = report.state
    now = timezone.now()
    report.state, report.outcome, report.version = WhistleState.CONCLUDED, outcome, report.version + 1
    report.findings, report.reply, report.concluded_at = findings_text, reply_text, now
    report.save(update_fields=["state", "outcome", "version", "findings", "reply", "concluded_at"])
    _transition(report, "conclude", before, report.state, by=by, at=now, note=outcome)
    record(
        actor=by,
        action="action",
        obj=report,
        before={"state": before},
        after={"state": report.state, "outcome": outcome},
        reason="举报办结",
    )
    return report


# --- the queue as Excel ----------------------------------------------------------------------------------------------

PROTECTED = gettext_lazy("（受保护）")


def export_rows(user: User, reports: QuerySet[WhistleReport]) -> Iterator[list[Any]]:
    """The queue's rows; the reporter's columns hold the identity for a supervisor, else "(protected)"."""
    shown = can_see_identity(user)
    for r in reports.iterator(chunk_size=500):
        if r.anonymous:
            who = [_("匿名"), "", "", ""]
        elif shown:
            who = [_("实名"), r.reporter_name, r.reporter_phone, r.reporter_id_number]
        else:
            who = [_("实名"), str(PROTECTED), str(PROTECTED), str(PROTECTED)]
        yield [
            r.tracking_number,
            r.received_at,
            r.region.name,
            r.get_kind_display(),
            r.about,
            r.get_state_display(),
            r.due_on,
            r.assigned_to.username if r.assigned_to_id else "",
            r.get_outcome_display() if r.outcome else "",
            *who,
        ]


def masked_label(report: WhistleReport, user: Any) -> str:
    """How the reporter is named in a list: 匿名, or the masked name for a supervisor, else 实名（受保护）."""
    if report.anonymous:
        return _("匿名")
    if can_see_identity(user):
        return mask_name(report.reporter_name)
    return _("实名（受保护）")


def overdue_q(today: datetime.date) -> Q:
    return Q(due_on__lt=today) & ~Q(state=WhistleState.CONCLUDED)
