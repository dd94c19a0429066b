"""Writes of the citizen portal: online applications, status-check codes, later uploads.

No account: an application opens an intake case with channel `portal` and `by=None`; the applicant
follows it with the tracking number, their ID number and a one-time SMS code sent to the phone given
with the application. Every refusal of a status check — unknown tracking number, another person's ID
number, a wrong, used or expired code — is the same `NotFound`, so the portal never tells a stranger
whether a case exists.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.core.text import clean_text
from doudi.intake import files
from doudi.intake import services as intake_services
from doudi.intake.models import SUBTYPES, Attachment, Case, CaseType, Channel
from doudi.policy.money import yuan_to_fen
from doudi.portal.messaging import SendResult, send_message
from doudi.portal.models import MessagePurpose, Submission, VerificationCode
from doudi.regions.models import Region, RegionLevel
from doudi.registry import identity
from doudi.registry.models import Person, Relation

CODE_TTL = datetime.timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
CODE_RESEND_SECONDS = 60  # one code per case per minute, whatever the rate limits allow
MAX_MEMBERS = 10
MAX_FILES = 8
APPLICANT_LABEL = gettext_lazy("申请人（网上提交）")

SCHEMES: dict[str, Any] = {
    CaseType.DIBAO: gettext_lazy("最低生活保障（低保）"),
    CaseType.TEKUN: gettext_lazy("特困人员救助供养"),
    CaseType.CHILDREN: gettext_lazy("儿童基本生活保障"),
    CaseType.TEMPORARY: gettext_lazy("临时救助"),
}

# The proofs a scheme asks for online (all optional except the children's, see workflows.children): what
# is missing is told once by the township (条例第17条).
PROOFS: dict[str, dict[str, Any]] = {
    CaseType.DIBAO: {
        "id_or_register": gettext_lazy("身份证或户口簿"),
        "income_proof": gettext_lazy("家庭成员收入证明（或收入情况说明）"),
        "other": gettext_lazy("其他材料（如残疾证、病历）"),
    },
    CaseType.TEKUN: {
        "id_or_register": gettext_lazy("身份证或户口簿"),
        "disability_or_age": gettext_lazy("残疾证或年龄证明"),
        "other": gettext_lazy("其他材料"),
    },
    CaseType.TEMPORARY: {
        "id_or_register": gettext_lazy("身份证或户口簿"),
        "hardship_proof": gettext_lazy("困难情况证明（医疗票据、事故证明等）"),
        "other": gettext_lazy("其他材料"),
    },
}

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class NotFound(Exception):
    """The single answer to every failed status check."""


def clean_mobile(raw: Any) -> str:
    """A mainland mobile number (codes go by SMS): 11 digits starting 13–19, spaces and dashes dropped."""
    phone = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", str(raw or "")))
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _MOBILE.match(phone):
        raise ValidationError(_("请填写11位手机号码，用于接收短信。"), code="phone")
    return phone


def normalise_tracking(raw: Any) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", str(raw or ""))).upper()[:32]


# --- applications ---------------------------------------------------------------------------------------------


@dataclass
class Member:
    name: str
    id_number: str
    relation: str
    income: Decimal


@dataclass
class Upload:
    key: str
    label: str
    name: str
    content: bytes


@dataclass
class Application:
    scheme: str
    subtype: str
    applicant_name: str
    applicant_id_number: str
    applicant_phone: str
    village_code: str
    reason: str
    applicant_income: Decimal = Decimal(0)
    members: list[Member] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    commitment: bool = False
    child_name: str = ""
    child_id_number: str = ""
    poverty: str = ""
    consent: bool = False


@dataclass
class Applied:
    """The case an application opened — or, for the same application again while that case is open,
    the first case (`repeated`, no second SMS)."""

    case: Case
    message: SendResult | None = None
    repeated: bool = False


def proofs_for(scheme: str, subtype: str = "") -> dict[str, Any]:
    if scheme == CaseType.CHILDREN:
        from doudi.intake.workflows import children

        return children.documents_for(subtype)
    return PROOFS.get(scheme, {})


def _check_identity(obj: Any, errors: dict[str, str], name_message: str) -> None:
    """The citizen's name (stored as `clean_text` leaves it), ID number and mobile, normalised in place
    on `obj` (an Application or a ChangeReport); problems keyed by field."""
    obj.applicant_name = name = clean_text(obj.applicant_name)
    if not name or len(name) > 64:
        errors["applicant_name"] = name_message
    try:
        obj.applicant_id_number = identity.validate(obj.applicant_id_number)
    except ValidationError as exc:
        errors["applicant_id_number"] = "；".join(exc.messages)
    try:
        obj.applicant_phone = clean_mobile(obj.applicant_phone)
    except ValidationError as exc:
        errors["applicant_phone"] = "；".join(exc.messages)


def _validate(app: Application) -> tuple[dict[str, Any], Region | None, dict[str, str]]:
    """Everything checked before anything is written: field name → message."""
    errors: dict[str, str] = {}
    if app.scheme not in SCHEMES:
        errors["scheme"] = _("请选择救助项目。")
    subtypes = SUBTYPES.get(app.scheme, {})
    if subtypes and app.subtype not in subtypes:
        errors["subtype"] = _("请选择类别。")
    if not subtypes and app.subtype:
        errors["subtype"] = _("类别无效。")
    _check_identity(app, errors, _("请填写申请人姓名。"))
    village = Region.objects.filter(code=app.village_code, level=RegionLevel.VILLAGE).first()
    if village is None:
        errors["village"] = _("请选择所在村（社区）。")
    reason = (app.reason or "").strip()
    if not reason:
        errors["reason"] = _("请说明申请理由和家庭困难情况。")
    elif len(reason) > 2000:
        errors["reason"] = _("不能超过 %(n)s 个字。") % {"n": 2000}
    if app.applicant_income < 0:
        errors["applicant_income"] = _("收入不能为负数。")
    if not app.consent:
        errors["consent"] = _("请阅读并同意家庭经济状况核对授权。")
    if len(app.members) > MAX_MEMBERS:
        errors["members"] = _("家庭成员最多填写 %(n)s 人。") % {"n": MAX_MEMBERS}
    seen = {app.applicant_id_number}
    for i, m in enumerate(app.members):
        try:
            m.id_number = identity.validate(m.id_number)
        except ValidationError as exc:
            errors[f"members-{i}-id_number"] = "；".join(exc.messages)
        else:
            if m.id_number in seen:
                errors[f"members-{i}-id_number"] = _("身份证号重复。")
            seen.add(m.id_number)
        m.name = clean_text(m.name)
        if not m.name:
            errors[f"members-{i}-name"] = _("请填写姓名。")
        if m.relation not in Relation.values or m.relation == Relation.HEAD:
            errors[f"members-{i}-relation"] = _("请选择与申请人关系。")
        if m.income < 0:
            errors[f"members-{i}-income"] = _("收入不能为负数。")
    if app.scheme == CaseType.CHILDREN:
        app.child_name = clean_text(app.child_name)
        if not app.child_name:
            errors["child_name"] = _("请填写儿童姓名。")
        try:
            app.child_id_number = identity.validate(app.child_id_number)
        except ValidationError as exc:
            errors["child_id_number"] = "；".join(exc.messages)
    if app.poverty and app.poverty not in {"newly_impoverished", "relapsed"}:
        errors["poverty"] = _("选项无效。")
    if app.poverty and app.scheme != CaseType.TEMPORARY:
        errors["poverty"] = _("致贫/返贫农户标记仅用于临时救助申请。")
    if len(app.uploads) > MAX_FILES:
        errors["proofs"] = _("一次最多上传 %(n)s 个文件。") % {"n": MAX_FILES}
    allowed = proofs_for(app.scheme, app.subtype)
    for upload in app.uploads:
        if upload.key not in allowed:
            errors[f"proof_{upload.key}"] = _("材料类别无效。")
            continue
        try:
            files.check_upload(upload.name, upload.content)
        except ValidationError as exc:
            errors[f"proof_{upload.key}"] = "；".join(exc.messages)

    details: dict[str, Any] = {}
    if app.scheme == CaseType.CHILDREN and village is not None and "subtype" not in errors:
        from doudi.intake.workflows import children

        try:
            details.update(
                children.application_details(
                    subtype=app.subtype,
                    region=village,
                    on=timezone.localdate(),
                    uploaded={u.key for u in app.uploads if f"proof_{u.key}" not in errors},
                    commitment=app.commitment,
                )
            )
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, "；".join(messages))
    elif app.commitment:
        errors["commitment"] = _("该救助项目网上申请不适用个人承诺，请上传材料或由乡镇（街道）一次性告知。")
    return details, village, errors


def _portal_details(app: Application, extra: dict[str, Any]) -> dict[str, Any]:
    today = timezone.localdate().isoformat()
    details: dict[str, Any] = {
        "portal": {
            "applicant_income_fen": yuan_to_fen(app.applicant_income),
            "members": [
                {
                    "name": m.name,
                    "id_number": m.id_number,
                    "relation": m.relation,
                    "income_fen": yuan_to_fen(m.income),
                }
                for m in app.members
            ],
            "proofs": sorted({u.key for u in app.uploads}),
        },
        "consent": {"given_on": today, "text": str(CONSENT_TEXT)},
        **extra,
    }
    if app.scheme == CaseType.CHILDREN:
        details["child"] = {"name": app.child_name, "id_number": app.child_id_number}
    if app.poverty:
        details["poverty"] = app.poverty
    return details


CONSENT_TEXT = gettext_lazy(
    "本人同意民政部门依法查询、核对本人及共同生活家庭成员的收入、财产等家庭经济状况信息，并对所填信息的真实性负责。"
)


def _linked_applicant(app: Application) -> Person | None:
    """The registry record, when the typed ID number and phone both match it (the portal's own ID +
    phone check; intake never links a citizen's filing by the number alone)."""
    person = Person.objects.filter(id_number=app.applicant_id_number).first()
    if person is not None and person.phone and clean_phone_or_blank(person.phone) == app.applicant_phone:
        return person
    return None


def clean_phone_or_blank(raw: str) -> str:
    try:
        return clean_mobile(raw)
    except ValidationError:
        return ""


def _delete_files(paths: list[str]) -> None:
    """The files stored for a transaction that did not commit."""
    for path in paths:
        default_storage.delete(path)


def _save_upload(case: Case, upload: Upload, saved: list[str], label: str | None = None) -> Attachment:
    """The applicant's upload, stored and recorded like an officer's; `saved` collects the files to
    delete if the caller's transaction fails."""
    kind = files.check_upload(upload.name, upload.content)
    path, now = intake_services.store_upload_file(kind, upload.content)
    saved.append(path)
    return intake_services.record_attachment(
        case,
        kind=kind,
        path=path,
        at=now,
        name=upload.name,
        content=upload.content,
        label=(label or upload.label)[:100],
        by=None,
        by_label=str(APPLICANT_LABEL),
        reason=str(APPLICANT_LABEL),
    )


def _submission_key(app: Application) -> str:
    """What makes two submissions the same application, as a keyed hash (no ID number stored)."""
    child = app.child_id_number if app.scheme == CaseType.CHILDREN else ""
    return hmac.new(
        settings.SECRET_KEY.encode(),
        f"{app.scheme}:{app.applicant_id_number}:{child}".encode(),
        hashlib.sha256,
    ).hexdigest()


def _repeated(case: Case, app: Application) -> Applied:
    """The same application while `case` is open: its tracking number for the one who filed it (same
    phone); anyone else only learns that it is already being handled."""
    if not hmac.compare_digest(clean_phone_or_blank(case.applicant_phone), app.applicant_phone):
        raise ValidationError(
            {
                "applicant_id_number": _(
                    "该身份证号已有一件同类申请正在办理，请勿重复提交；请凭受理编号查询进度。"
                )
            }
        )
    return Applied(case, repeated=True)


def _submit_once(
    key: str, open_fn: Callable[[], Case], repeated: Callable[[Case], Applied], saved: list[str]
) -> Applied:
    """One case per submission key while it is open: `open_fn` opens it (in this transaction) unless the
    key's case is still open, which `repeated` answers instead. The unique key makes two simultaneous
    submissions (a double click, two tabs) one case; files stored for a failed attempt are deleted."""
    try:
        with transaction.atomic():
            entry = Submission.objects.select_for_update().select_related("case").filter(key=key).first()
            if entry is not None and entry.case.is_open:
                return repeated(entry.case)
            case = open_fn()
            if entry is None:
                Submission.objects.create(key=key, case=case)  # IntegrityError if a twin committed first
            else:
                entry.case = case
                entry.save(update_fields=["case"])
    except IntegrityError:
        _delete_files(saved)
        first = Submission.objects.filter(key=key).select_related("case").first()
        if first is not None and first.case.is_open:
            return repeated(first.case)
        raise
    except BaseException:
        _delete_files(saved)
        raise
    return Applied(case)


def apply_online(app: Application) -> Applied:
    """网上申请: validate everything, then open the case (channel portal) with its proofs in one
    transaction — a refusal writes nothing — and text the tracking number to the applicant. The same
    application again while its case is open (a double click, two tabs, a second try) opens nothing."""
    details, village, errors = _validate(app)
    if errors:
        raise ValidationError(errors)
    saved: list[str] = []

    def open_fn() -> Case:
        case = intake_services.open_case(
            by=None,
            case_type=app.scheme,
            subtype=app.subtype,
            channel=Channel.PORTAL,
            region=village,
            summary=app.reason.strip(),
            applicant=_linked_applicant(app),
            applicant_name=app.applicant_name,
            applicant_id_number=app.applicant_id_number,
            applicant_phone=app.applicant_phone,
            details=_portal_details(app, details),
        )
        labels = proofs_for(app.scheme, app.subtype)
        for upload in app.uploads:
            _save_upload(case, upload, saved, label=str(labels.get(upload.key, upload.label)))
        return case

    applied = _submit_once(_submission_key(app), open_fn, lambda case: _repeated(case, app), saved)
    if applied.repeated:
        return applied
    case = applied.case
    text = _(
        "【兜底救助】您的%(scheme)s申请已提交，受理编号 %(n)s。凭受理编号、身份证号和短信验证码可在网上查询办理进度。"
    ) % {
        "scheme": SCHEMES[app.scheme],
        "n": case.tracking_number,
    }
    result = send_message(phone=app.applicant_phone, text=text, purpose=MessagePurpose.APPLIED, case=case)
    return Applied(case, message=result)


# --- 家庭情况变化报告 (a household in dibao tells what changed) ---------------------------------------------------

MAX_DECLARED_INCOME = Decimal("10000000")


@dataclass
class ChangeReport:
    applicant_name: str
    applicant_id_number: str
    applicant_phone: str
    kinds: list[str]
    description: str
    household_income: Decimal | None = None
    consent: bool = False


def _reporting_person(report: ChangeReport) -> Person | None:
    """The registry person the report is from: ID number, name and the mobile on file all match (the
    portal's own check; nothing is linked on fewer)."""
    person = Person.objects.filter(id_number=report.applicant_id_number).first()
    if person is None or clean_text(person.name) != report.applicant_name:
        return None
    if not person.phone or clean_phone_or_blank(person.phone) != report.applicant_phone:
        return None
    return person


def report_change(report: ChangeReport) -> Applied:
    """家庭情况变化报告 online: a member of a household in dibao, identified by ID number, name and the
    mobile on file, reports what changed. Everything is checked before anything is written; a person
    not found, or whose household is not paid dibao, gets one answer (the portal never tells which).
    The household's report still open — sent twice, from two tabs, or by another member or the village —
    is answered with its tracking number and opens nothing (no second SMS)."""
    from doudi.intake.workflows import change_report

    errors: dict[str, str] = {}
    _check_identity(report, errors, _("请填写姓名。"))
    kinds = change_report.clean_kinds(report.kinds, errors)
    description = clean_text(report.description or "")
    if not description:
        errors["description"] = _("请说明发生了什么变化。")
    elif len(description) > 2000:
        errors["description"] = _("不能超过 %(n)s 个字。") % {"n": 2000}
    income = report.household_income
    if income is not None and not (0 <= income <= MAX_DECLARED_INCOME):
        errors["household_income"] = _("请填写 0 到 %(n)s 之间的金额。") % {"n": MAX_DECLARED_INCOME}
    if not report.consent:
        errors["consent"] = _("请阅读并同意家庭经济状况核对授权。")
    if errors:
        raise ValidationError(errors)
    person = _reporting_person(report)
    not_found = ValidationError(
        {
            "applicant_id_number": _(
                "未找到正在享受低保的家庭成员。请核对姓名、身份证号和在村（社区）登记的手机号，或请村（社区）代为报告。"
            )
        }
    )
    if person is None:
        raise not_found
    key = hmac.new(
        settings.SECRET_KEY.encode(), f"change_report:{report.applicant_id_number}".encode(), hashlib.sha256
    ).hexdigest()
    details = {"consent": {"given_on": timezone.localdate().isoformat(), "text": str(CONSENT_TEXT)}}
    first: list[bool] = []

    def open_fn() -> Case:
        try:
            case, repeated = change_report.file_report(
                by=None,
                person=person,
                summary=description,
                kinds=kinds,
                channel=Channel.PORTAL,
                phone=report.applicant_phone,
                declared_income_fen=yuan_to_fen(income) if income is not None else None,
                extra=details,
            )
        except ValidationError as exc:
            raise not_found from exc
        first.append(repeated)
        return case

    applied = _submit_once(key, open_fn, lambda case: Applied(case, repeated=True), [])
    if applied.repeated or (first and first[0]):
        return Applied(applied.case, repeated=True)
    case = applied.case
    text = _(
        "【兜底救助】您报告的家庭情况变化已提交，受理编号 %(n)s。凭受理编号、身份证号和短信验证码可在网上查询办理进度。"
    ) % {"n": case.tracking_number}
    result = send_message(phone=report.applicant_phone, text=text, purpose=MessagePurpose.APPLIED, case=case)
    return Applied(case, message=result)


# --- status checks ------------------------------------------------------------------------------------------


def _find_case(tracking_number: str, id_number: str) -> Case | None:
    try:
        number = identity.normalise(id_number)
    except Exception:  # noqa: BLE001 - any malformed input is simply "not found"
        return None
    tracking = normalise_tracking(tracking_number)
    if not tracking or not number:
        return None
    case = Case.objects.select_related("region").filter(tracking_number=tracking).first()
    if (
        case is None
        or not case.applicant_id_number
        or not hmac.compare_digest(case.applicant_id_number, number)
    ):
        return None
    return case


def _hash(code: str, salt: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def request_status_code(*, tracking_number: str, id_number: str) -> bool:
    """Text a 6-digit code to the phone given with the case when the tracking number and ID number match.
    Returns whether a code was sent — for logging only: the page says the same either way."""
    case = _find_case(tracking_number, id_number)
    if case is None or not clean_phone_or_blank(case.applicant_phone):
        return False
    now = timezone.now()
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        recent = VerificationCode.objects.filter(
            case=case, created_at__gt=now - datetime.timedelta(seconds=CODE_RESEND_SECONDS)
        )
        if recent.exists():
            return False
        VerificationCode.objects.filter(case=case, used_at__isnull=True).update(used_at=now)  # superseded
        code = f"{secrets.randbelow(10**6):06d}"
        salt = secrets.token_hex(16)
        VerificationCode.objects.create(
            case=case, code_hash=_hash(code, salt), salt=salt, created_at=now, expires_at=now + CODE_TTL
        )
    text = _("【兜底救助】您查询受理编号 %(n)s 的验证码为 %(code)s，10分钟内有效。如非本人操作，请忽略。") % {
        "n": case.tracking_number,
        "code": code,
    }
    return send_message(
        phone=case.applicant_phone, text=text, purpose=MessagePurpose.STATUS_CODE, case=case
    ).ok


def verify_status(*, tracking_number: str, id_number: str, code: str) -> Case:
    """The case, when all three match; else NotFound. A wrong code uses one of the code's 5 tries
    (counted in its own transaction so the count survives the refusal); a used or expired code is refused."""
    case = _find_case(tracking_number, id_number)
    code = re.sub(r"\s", "", unicodedata.normalize("NFKC", str(code or "")))
    if case is None or not re.fullmatch(r"\d{6}", code):
        raise NotFound
    now = timezone.now()
    with transaction.atomic():
        current = (
            VerificationCode.objects.select_for_update()
            .filter(case=case, used_at__isnull=True, expires_at__gt=now, attempts__lt=CODE_MAX_ATTEMPTS)
            .order_by("-created_at", "-id")
            .first()
        )
        if current is None:
            raise NotFound
        if not hmac.compare_digest(current.code_hash, _hash(code, current.salt)):
            VerificationCode.objects.filter(pk=current.pk).update(attempts=F("attempts") + 1)
            wrong = True
        else:
            VerificationCode.objects.filter(pk=current.pk).update(used_at=now)
            wrong = False
    if wrong:
        raise NotFound
    return case


def upload_document(*, case: Case, key: str, name: str, content: bytes) -> Attachment:
    """补交材料 from the portal (after a verified status check): a proof on the case's deferred checklist
    (children's fast track) is marked submitted; anything else is added to the case as 申请人补交材料."""
    deferred = {i["key"]: i for i in (case.details or {}).get("deferred_documents") or []}
    missing = list(case.missing_items or [])
    if key in deferred:
        label = deferred[key]["label"]
    elif key.startswith("missing-") and key[8:].isdigit() and int(key[8:]) < len(missing):
        label = missing[int(key[8:])]
    elif key == "other":
        label = str(_("申请人补交材料"))
    else:
        raise ValidationError({"key": _("请选择要补交的材料。")})
    files.check_upload(name or "", content)
    if not case.is_open:
        raise ValidationError({"key": _("案件已办结，不能再补交材料。")})
    saved: list[str] = []
    try:
        with transaction.atomic():
            attachment = _save_upload(case, Upload(key, label, name, content), saved, label=label)
            if key in deferred:
                from doudi.intake.workflows import children

                children.submit_deferred_document(case=case, key=key, attachment=attachment)
    except BaseException:
        _delete_files(saved)
        raise
    return attachment
