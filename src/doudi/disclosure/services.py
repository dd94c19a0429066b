"""Writes of 公示: publishing a decision under publicity, taking it down, citizens' objections.

`publish` is called by the dibao workflow when a case enters 公示 or 复核公示; it copies only the masked
fields the public page may show. `file_objection` is what the public objection form calls: it opens an
objection case (异议) through the intake framework (channel web portal), linked to the dibao case, in
the same responsible unit — so the township officer finds it in the work queue — and notes it on the
dibao case's timeline.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.errors import Conflict
from doudi.core.masking import mask_id_number, mask_name, mask_phone
from doudi.core.text import clean_text
from doudi.disclosure.models import Publication, PublicationKind
from doudi.regions.models import RegionLevel

# 条例第18条: the township's opinion is published 7 days; after an upheld objection, 3 days. Calendar
# days, the publication day included: a 公示 starting on 3 March runs to 9 March.
PUBLICITY_DAYS = {PublicationKind.FIRST: 7, PublicationKind.RE: 3}
MAX_OBJECTION = 1000


def _now() -> datetime.datetime:
    return timezone.now()


def _today() -> datetime.date:
    return timezone.localdate()


def period_for(kind: str, start: datetime.date) -> tuple[datetime.date, datetime.date]:
    return start, start + datetime.timedelta(days=PUBLICITY_DAYS[kind] - 1)


def _village_of(case: Any):
    """The village published: the household's, else the case's responsible unit if it is a village."""
    if case.household_id is not None and case.household.region.level == RegionLevel.VILLAGE:
        return case.household.region
    return case.region


@transaction.atomic
def publish(*, case: Any, kind: str, by: Any, amount: int) -> Publication:
    """公示 / 复核公示 of a case (called by the workflow inside its transition): masked name and ID,
    village, scheme and amount — nothing else — from today for 7 (or 3) calendar days. A publication
    of the case still running is taken down first (there is never more than one on the page)."""
    if kind not in PublicationKind.values:
        raise ValueError(kind)
    withdraw_publications(case=case, by=by, reason=_("新的公示取代"))
    start, end = period_for(kind, _today())
    village = _village_of(case)
    name = case.applicant.name if case.applicant_id else case.applicant_name
    id_number = case.applicant.id_number if case.applicant_id else case.applicant_id_number
    publication = Publication.objects.create(
        case=case,
        kind=kind,
        start_date=start,
        end_date=end,
        masked_name=mask_name(name),
        masked_id=mask_id_number(id_number),
        village=village,
        village_name=village.name,
        scheme=case.case_type,
        amount=max(int(amount or 0), 0),
        created_at=_now(),
        created_by=by if getattr(by, "pk", None) else None,
    )
    record(
        actor=by,
        action=AuditAction.CREATE,
        obj=publication,
        after={
            "case": case.tracking_number,
            "kind": kind,
            "start_date": start,
            "end_date": end,
            "amount": publication.amount,
        },
    )
    return publication


def withdraw_publications(*, case: Any, by: Any, reason: str) -> int:
    """Take the case's running (or future) publications off the page (objection upheld, withdrawal)."""
    today = _today()
    count = 0
    for p in Publication.objects.select_for_update().filter(
        case=case, withdrawn_at__isnull=True, end_date__gte=today
    ):
        p.withdrawn_at, p.withdrawn_reason = _now(), (reason or "")[:200]
        p.save(update_fields=["withdrawn_at", "withdrawn_reason"])
        record(
            actor=by,
            action=AuditAction.UPDATE,
            obj=p,
            after={"withdrawn": True, "case": case.tracking_number},
            reason=reason,
        )
        count += 1
    return count


@transaction.atomic
def file_objection(
    *, publication: Publication, name: str, phone: str, reason: str, id_number: str = ""
) -> Any:
    """网上异议: open an objection case (channel web portal) linked to the published case, in its
    responsible unit, and note it on that case's timeline. Only while the entry is on the page. With
    the objector's ID number (optional) they follow it on the portal like any case: tracking number,
    ID number and an SMS code to the phone they left."""
    from doudi.intake import services as intake
    from doudi.intake.models import CaseType, Channel, Comment
    from doudi.registry import identity
    from doudi.registry.services import clean_phone

    publication = Publication.objects.select_related("case__region").get(pk=publication.pk)
    if not publication.running_on(_today()):
        raise Conflict(_("该公示已结束，不能再在网上提出异议；如有意见请拨打求助热线。"), path="publication")
    errors: dict[str, str] = {}
    name = clean_text(name)[:64]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = _("请写明异议的事实和理由。")
    elif len(reason) > MAX_OBJECTION:
        errors["reason"] = _("不能超过 %(n)s 个字。") % {"n": MAX_OBJECTION}
    try:
        phone = clean_phone(phone)
        if not phone:
            errors["phone"] = _("请留下联系电话，以便核实和答复。")
    except ValidationError as exc:
        errors["phone"] = "；".join(exc.messages)
    if (id_number or "").strip():
        try:
            id_number = identity.validate(id_number)
        except ValidationError as exc:
            errors["id_number"] = "；".join(exc.messages)
    if errors:
        raise ValidationError(errors)
    dibao = publication.case
    objection = intake.open_case(
        by=None,
        case_type=CaseType.OBJECTION,
        channel=Channel.PORTAL,
        region=dibao.region,
        summary=_("对公示对象 %(who)s（%(village)s，%(kind)s %(start)s 至 %(end)s）的异议：\n%(reason)s")
        % {
            "who": publication.masked_name,
            "village": publication.village_name,
            "kind": publication.get_kind_display(),
            "start": publication.start_date.isoformat(),
            "end": publication.end_date.isoformat(),
            "reason": reason,
        },
        applicant_name=name or _("（未署名）"),
        applicant_phone=phone,
        applicant_id_number=(id_number or "").strip(),
        related_case=dibao,
        details={"publication": publication.pk, "source": "gongshi"},
    )
    Comment.objects.create(
        case=dibao,
        author=None,
        author_label=_("网上公示"),
        text=_("收到网上异议 %(n)s（联系电话 %(p)s），请在公示页面下方“异议”中处理。")
        % {"n": objection.tracking_number, "p": mask_phone(phone)},
        at=_now(),
    )
    return objection
