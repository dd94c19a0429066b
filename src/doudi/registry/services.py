"""Writes to the registry (人员与家庭登记): households, people, membership history, categories, duplicates.

Every function is one business action in one transaction: it checks that the acting officer may write
(a non-read-only role) inside their region subtree, validates, writes, and appends to the audit log.
Validation errors are `ValidationError({field: message})`; an object or region outside the officer's
subtree is `PermissionDenied` (views never offer such objects: scoped selectors answer 404 first).

Dates: `Membership.joined_on` is the first day in the household and `left_on` the day the person left
(no longer a member from that day), so a move on day D closes one stay and opens the next on D.
`PersonCategory.valid_to` is the last day the category holds (inclusive).
"""

from __future__ import annotations

import datetime
import unicodedata
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.accounts.roles import is_acting_staff
from doudi.audit.models import AuditAction
from doudi.audit.services import record
from doudi.core.masking import mask_id_number
from doudi.core.scoping import region_in_scope
from doudi.core.text import clean_text
from doudi.regions.models import Region, RegionLevel
from doudi.registry import identity
from doudi.registry.models import (
    AreaType,
    Category,
    DuplicateStatus,
    Household,
    Membership,
    MemberStanding,
    OrphanCare,
    Person,
    PersonCategory,
    PossibleDuplicate,
    Relation,
    SeparateReason,
    WorkStatus,
)

# Person attributes a caller may set at registration besides identity, name, phone.
PERSON_DETAIL_FIELDS = (
    "income_wage_fen",
    "income_business_fen",
    "income_agricultural_fen",
    "income_property_fen",
    "income_transfer_fen",
    "income_exempt_fen",
    "work",
    "orphan_care",
    "covid_confirmed_on",
    "covid_discharged_on",
    "covid_died_on",
)
INCOME_FIELDS = tuple(f for f in PERSON_DETAIL_FIELDS if f.startswith("income_"))


# --- access -----------------------------------------------------------------------------------------


def can_write_registry(user: Any) -> bool:
    """Who may register persons and households: acting staff (not only supervising or auditing)."""
    return is_acting_staff(user)


def require_writer(officer: Any) -> None:
    if not can_write_registry(officer):
        raise PermissionDenied(_("您没有登记人员和家庭的权限"))


def require_scope(officer: Any, region: Region | None) -> None:
    if region is None or not region_in_scope(officer, region):
        raise PermissionDenied(_("该区划不在您的管辖范围内"))


def _today() -> datetime.date:
    return timezone.localdate()


# --- audit snapshots (ID numbers masked: the log is append-only and can never be purged) ----------------


def _person_snapshot(p: Person) -> dict:
    return {
        "name": p.name,
        "id_number": mask_id_number(p.id_number),
        "birth_date": p.birth_date,
        "sex": p.sex,
        "region": p.region_id,
        **{f: getattr(p, f) for f in PERSON_DETAIL_FIELDS},
    }


def _household_snapshot(h: Household) -> dict:
    return {
        "region": h.region_id,
        "area_type": h.area_type,
        "address": h.address,
        "head": h.head_id,
        **{f: getattr(h, f) for f in ECONOMIC_FIELDS},
        "dibao_enrolled": h.dibao_enrolled,
        "dibao_last_amount": h.dibao_last_amount,
    }


def _membership_snapshot(m: Membership) -> dict:
    return {
        "household": m.household_id,
        "person": m.person_id,
        "relation": m.relation,
        "joined_on": m.joined_on,
        "left_on": m.left_on,
        "separate_assessment": m.separate_assessment,
        "separate_reason": m.separate_reason,
        "standing": m.standing,
        "married": m.married,
        "living_apart_since": m.living_apart_since,
    }


def _grant_snapshot(g: PersonCategory) -> dict:
    return {"person": g.person_id, "category": g.category, "valid_from": g.valid_from, "valid_to": g.valid_to}


# --- households -------------------------------------------------------------------------------------


def _require_village(region: Region | None, field: str = "region") -> None:
    if region is None or region.level != RegionLevel.VILLAGE:
        raise ValidationError({field: _("家庭和人员须登记在村（社区）一级")})


# 条例第12、13条: what a household declares — the asset items one by one and a farming household's 12
# months (cash and in-kind income, direct costs).
ASSET_AMOUNTS = ("deposits_fen", "securities_fen", "claims_fen")
ASSET_COUNTS = ("vehicles", "disability_vehicles", "boats", "houses")
FARMING_AMOUNTS = ("farming_cash_income_fen", "farming_in_kind_income_fen", "farming_direct_costs_fen")
ECONOMIC_FIELDS = (*ASSET_AMOUNTS, *ASSET_COUNTS, "farming", *FARMING_AMOUNTS)
MAX_AMOUNT_FEN = 100_000_000_000  # 10亿元: anything larger is a typo
MAX_COUNT = 32767  # the columns' limit


def household_economics_errors(values: dict[str, Any]) -> dict[str, str]:
    """What is wrong with a household's 条例第12、13条 figures (those given), by field — the console
    form, the import and register_household use it: amounts in fen and counts whole and not negative,
    the 12 months' farming figures only for a farming household."""
    errors: dict[str, str] = {}
    for f in (*ASSET_AMOUNTS, *FARMING_AMOUNTS, *ASSET_COUNTS):
        if f not in values:
            continue
        value = values[f]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors[f] = _("不能为负数")
        elif value > (MAX_COUNT if f in ASSET_COUNTS else MAX_AMOUNT_FEN):
            errors[f] = _("数值过大")
    if not values.get("farming", False):
        for f in FARMING_AMOUNTS:
            if values.get(f) and f not in errors:
                errors[f] = _("只有农业家庭填写12个月的收入和成本")
    return errors


@transaction.atomic
def register_household(
    *,
    officer: Any,
    region: Region,
    area_type: str,
    address: str = "",
    deposits_fen: int = 0,
    vehicles: int = 0,
    houses: int = 0,
    dibao_enrolled: bool = False,
    dibao_last_amount: int | None = None,
) -> Household:
    """登记家庭: a new household in a village of the officer's subtree (members added after)."""
    require_writer(officer)
    _require_village(region)
    require_scope(officer, region)
    errors: dict[str, str] = {}
    if area_type not in AreaType.values:
        errors["area_type"] = _("城乡类别应为“城市”或“农村”")
    errors.update(
        household_economics_errors({"deposits_fen": deposits_fen, "vehicles": vehicles, "houses": houses})
    )
    if dibao_last_amount is not None and (not isinstance(dibao_last_amount, int) or dibao_last_amount < 0):
        errors["dibao_last_amount"] = _("不能为负数")
    if errors:
        raise ValidationError(errors)
    household = Household(
        region=region,
        area_type=area_type,
        address=clean_text(address),
        deposits_fen=deposits_fen,
        vehicles=vehicles,
        houses=houses,
        dibao_enrolled=dibao_enrolled,
        dibao_last_amount=dibao_last_amount,
    )
    household.full_clean(exclude=["head"])
    household.save()
    record(actor=officer, action=AuditAction.CREATE, obj=household, after=_household_snapshot(household))
    return household


@transaction.atomic
def set_household_economics(*, officer: Any, household: Household, **values: Any) -> Household:
    """资产与农业收入 (条例第12、13条): record the household's asset items — deposits, securities, claims
    (fen), vehicles with the disability vehicles apart (excepted from the test), boats, houses — and
    whether it is a farming household with its previous 12 months' cash and in-kind income and direct
    costs (fen). Fields not given keep their value; audited."""
    unknown = set(values) - set(ECONOMIC_FIELDS)
    if unknown:
        raise TypeError(f"unknown household fields: {', '.join(sorted(unknown))}")
    require_writer(officer)
    household = _lock_household(household)
    require_scope(officer, household.region)
    merged = {f: values.get(f, getattr(household, f)) for f in ECONOMIC_FIELDS}
    errors = household_economics_errors(merged)
    if not isinstance(merged["farming"], bool):
        errors["farming"] = _("应填“是”或“否”")
    if errors:
        raise ValidationError(errors)
    before = _household_snapshot(household)
    for f, value in merged.items():
        setattr(household, f, value)
    household.save(update_fields=[*ECONOMIC_FIELDS, "updated_at"])
    record(
        actor=officer,
        action=AuditAction.UPDATE,
        obj=household,
        before=before,
        after=_household_snapshot(household),
    )
    return household


# --- people -----------------------------------------------------------------------------------------


def clean_phone(raw: Any) -> str:
    """Digits with an optional leading '+' and inner dashes (landlines such as 023-12345678)."""
    phone = unicodedata.normalize("NFKC", str(raw or "")).replace(" ", "").strip()
    if not phone:
        return ""
    body = phone[1:] if phone.startswith("+") else phone
    if not (5 <= len(phone) <= 20) or not body.replace("-", "").isdigit() or body.startswith("-"):
        raise ValidationError(_("电话号码格式不正确"), code="phone")
    return phone


def _check_details(details: dict[str, Any], errors: dict[str, Any]) -> None:
    unknown = set(details) - set(PERSON_DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"unknown person fields: {', '.join(sorted(unknown))}")
    for f in INCOME_FIELDS:
        value = details.get(f, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            errors[f] = _("收入应为不小于0的金额")
    if details.get("work", WorkStatus.NONE) not in WorkStatus.values:
        errors["work"] = _("就业状态无效")
    if details.get("orphan_care", OrphanCare.SCATTERED) not in OrphanCare.values:
        errors["orphan_care"] = _("孤儿养育方式无效")


def id_number_taken_error() -> str:
    return _("该身份证号已登记，不能重复登记")


@transaction.atomic
def register_person(
    *,
    officer: Any,
    id_number: str,
    name: str,
    household: Household | None = None,
    region: Region | None = None,
    relation: str | None = None,
    joined_on: datetime.date | None = None,
    birth_date: datetime.date | None = None,
    sex: str | None = None,
    phone: str = "",
    separate_assessment: bool = False,
    **details: Any,
) -> Person:
    """登记人员: validate the resident ID (any province), derive birth date and sex from it, refuse an ID
    already registered; put the person in `household` (with `relation`) or, for someone without a
    household here (a migrant worker, a stranded traveller), just in the village `region`.

    A person with the same name and birth date already in the village is still registered, and the
    pair is queued as a PossibleDuplicate (疑似重复) for an officer to merge or dismiss.
    """
    require_writer(officer)
    if household is not None:
        household = _lock_household(household)
        if region is not None and region.pk != household.region_id:
            raise ValidationError({"region": _("所填区划与家庭所在村（社区）不一致")})
        region = household.region
    _require_village(region)
    require_scope(officer, region)

    errors: dict[str, Any] = {}
    parsed = None
    try:
        parsed = identity.parse(id_number)
    except ValidationError as exc:
        errors["id_number"] = exc.messages
    name = clean_text(name)
    if not name:
        errors["name"] = _("请填写姓名")
    elif len(name) > Person._meta.get_field("name").max_length:
        errors["name"] = _("姓名过长")
    if parsed is not None:
        if birth_date is not None and birth_date != parsed.birth_date:
            errors["birth_date"] = _("出生日期 %(given)s 与身份证号中的 %(derived)s 不一致") % {
                "given": birth_date.isoformat(),
                "derived": parsed.birth_date.isoformat(),
            }
        if sex is not None and sex != parsed.sex:
            errors["sex"] = _("性别与身份证号（第17位）不一致")
        if Person.objects.filter(id_number=parsed.number).exists():
            errors["id_number"] = id_number_taken_error()
    try:
        phone = clean_phone(phone)
    except ValidationError as exc:
        errors["phone"] = exc.messages
    _check_details(details, errors)
    if household is not None and relation not in Relation.values:
        errors["relation"] = _("请选择与户主关系")
    if errors:
        raise ValidationError(errors)
    assert parsed is not None and region is not None

    person = Person(
        id_number=parsed.number,
        name=name,
        birth_date=parsed.birth_date,
        sex=parsed.sex,
        phone=phone,
        region=region,
        **details,
    )
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError as exc:  # registered concurrently between the check and the insert
        raise ValidationError({"id_number": id_number_taken_error()}) from exc
    record(actor=officer, action=AuditAction.CREATE, obj=person, after=_person_snapshot(person))

    if household is not None:
        _open_membership(
            officer=officer,
            household=household,
            person=person,
            relation=relation or Relation.OTHER,
            joined_on=joined_on or _today(),
            separate_assessment=separate_assessment,
        )
    _queue_possible_duplicates(officer, person)
    return person


def _queue_possible_duplicates(officer: Any, person: Person) -> list[PossibleDuplicate]:
    others = (
        Person.objects.filter(
            region_id=person.region_id,
            name=person.name,
            birth_date=person.birth_date,
            merged_into__isnull=True,
        )
        .exclude(pk=person.pk)
        .order_by("pk")
    )
    queued = []
    for other in others:
        dup = PossibleDuplicate.objects.create(region_id=person.region_id, person=person, other=other)
        record(
            actor=officer,
            action=AuditAction.CREATE,
            obj=dup,
            after={"person": person.pk, "other": other.pk, "reason": "same name and birth date"},
        )
        queued.append(dup)
    return queued


# --- membership -------------------------------------------------------------------------------------


def _lock_person(person: Person) -> Person:
    return Person.objects.select_for_update().get(pk=person.pk)


def _lock_household(household: Household) -> Household:
    return Household.objects.select_related("region").select_for_update(of=("self",)).get(pk=household.pk)


def _current_membership(person: Person) -> Membership | None:
    return Membership.objects.filter(person=person, left_on__isnull=True).select_related("household").first()


def _open_membership(
    *,
    officer: Any,
    household: Household,
    person: Person,
    relation: str,
    joined_on: datetime.date,
    separate_assessment: bool = False,
) -> Membership:
    """Open a stay; the caller has checked scope and that the person has no current household."""
    if relation not in Relation.values:
        raise ValidationError({"relation": _("与户主关系无效")})
    last_left = (
        Membership.objects.filter(person=person, left_on__isnull=False)
        .order_by("-left_on")
        .values_list("left_on", flat=True)
        .first()
    )
    if last_left is not None and joined_on < last_left:
        raise ValidationError(
            {
                "joined_on": _("加入日期不能早于上一次离开家庭的日期 %(date)s")
                % {"date": last_left.isoformat()}
            }
        )
    if relation == Relation.HEAD and household.head_id is not None and household.head_id != person.pk:
        raise ValidationError({"relation": _("该户已有户主；更换户主请使用“设为户主”")})
    membership = Membership.objects.create(
        household=household,
        person=person,
        relation=relation,
        joined_on=joined_on,
        separate_assessment=separate_assessment,
    )
    if relation == Relation.HEAD:
        household.head = person
        household.save(update_fields=["head", "updated_at"])
    if person.region_id != household.region_id:
        before = person.region_id
        person.region_id = household.region_id
        person.save(update_fields=["region", "updated_at"])
        record(
            actor=officer,
            action=AuditAction.UPDATE,
            obj=person,
            before={"region": before},
            after={"region": person.region_id},
        )
    record(actor=officer, action=AuditAction.CREATE, obj=membership, after=_membership_snapshot(membership))
    return membership


def _close_membership(
    *, officer: Any, membership: Membership, left_on: datetime.date, reason: str
) -> Membership:
    if left_on < membership.joined_on:
        raise ValidationError(
            {"left_on": _("离开日期不能早于加入日期 %(date)s") % {"date": membership.joined_on.isoformat()}}
        )
    household = membership.household
    if household.head_id == membership.person_id:
        staying = Membership.objects.filter(household=household, left_on__isnull=True).exclude(
            person_id=membership.person_id
        )
        if staying.exists():
            raise ValidationError({"person": _("该成员是户主，请先为其他成员指定新户主")})
        household.head = None
        household.save(update_fields=["head", "updated_at"])
    before = _membership_snapshot(membership)
    membership.left_on = left_on
    membership.save(update_fields=["left_on"])
    record(
        actor=officer,
        action=AuditAction.UPDATE,
        obj=membership,
        before=before,
        after=_membership_snapshot(membership),
        reason=reason,
    )
    return membership


@transaction.atomic
def add_member(
    *,
    officer: Any,
    household: Household,
    person: Person,
    relation: str,
    joined_on: datetime.date,
    separate_assessment: bool = False,
) -> Membership:
    """加入家庭: a person without a current household joins this one; the person's region follows."""
    require_writer(officer)
    household = _lock_household(household)
    person = _lock_person(person)
    require_scope(officer, household.region)
    require_scope(officer, person.region)
    if person.merged_into_id is not None:
        raise ValidationError({"person": _("该人员已合并到其他记录，不能再加入家庭")})
    current = _current_membership(person)
    if current is not None:
        raise ValidationError(
            {
                "person": _("该人员已是家庭 %(household)s 的成员；更换家庭请使用“迁移”")
                % {"household": current.household}
            }
        )
    return _open_membership(
        officer=officer,
        household=household,
        person=person,
        relation=relation,
        joined_on=joined_on,
        separate_assessment=separate_assessment,
    )


@transaction.atomic
def remove_member(
    *, officer: Any, household: Household, person: Person, left_on: datetime.date, reason: str = ""
) -> Membership:
    """离开家庭: close the person's current stay in this household (history kept)."""
    require_writer(officer)
    household = _lock_household(household)
    person = _lock_person(person)
    require_scope(officer, household.region)
    membership = Membership.objects.filter(household=household, person=person, left_on__isnull=True).first()
    if membership is None:
        raise ValidationError({"person": _("该人员不是该户的现有成员")})
    membership.household = household
    return _close_membership(officer=officer, membership=membership, left_on=left_on, reason=reason)


@transaction.atomic
def move_member(
    *,
    officer: Any,
    person: Person,
    to_household: Household,
    relation: str,
    moved_on: datetime.date,
    reason: str = "",
) -> Membership:
    """迁移: leave the current household on `moved_on` and join `to_household` the same day."""
    require_writer(officer)
    person = _lock_person(person)
    current = _current_membership(person)
    if current is None:
        raise ValidationError({"person": _("该人员目前不在任何家庭中；请使用“加入家庭”")})
    if current.household_id == to_household.pk:
        raise ValidationError({"to_household": _("该人员已在此家庭中")})
    # Lock both households in id order so two concurrent moves cannot deadlock.
    first, second = sorted([current.household_id, to_household.pk])
    locked = {h.pk: h for h in (_lock_household(Household(pk=first)), _lock_household(Household(pk=second)))}
    source, target = locked[current.household_id], locked[to_household.pk]
    require_scope(officer, source.region)
    require_scope(officer, target.region)
    current.household = source
    _close_membership(officer=officer, membership=current, left_on=moved_on, reason=reason)
    return _open_membership(
        officer=officer, household=target, person=person, relation=relation, joined_on=moved_on
    )


@transaction.atomic
def set_head(
    *, officer: Any, household: Household, person: Person, previous_head_relation: str = Relation.OTHER
) -> Household:
    """设为户主: make a current member the head; the former head (if still a member) takes
    `previous_head_relation`. Other members' relations are kept as recorded."""
    require_writer(officer)
    household = _lock_household(household)
    require_scope(officer, household.region)
    if previous_head_relation not in Relation.values or previous_head_relation == Relation.HEAD:
        raise ValidationError({"previous_head_relation": _("请选择原户主与新户主的关系")})
    new = Membership.objects.filter(household=household, person=person, left_on__isnull=True).first()
    if new is None:
        raise ValidationError({"person": _("只有该户的现有成员才能设为户主")})
    if household.head_id == person.pk and new.relation == Relation.HEAD:
        return household
    before = _household_snapshot(household)
    old = (
        Membership.objects.filter(
            household=household, person_id=household.head_id, left_on__isnull=True
        ).first()
        if household.head_id
        else None
    )
    if old is not None and old.pk != new.pk:
        old.relation = previous_head_relation
        old.save(update_fields=["relation"])
    new.relation = Relation.HEAD
    new.save(update_fields=["relation"])
    household.head = person
    household.save(update_fields=["head", "updated_at"])
    record(
        actor=officer,
        action=AuditAction.UPDATE,
        obj=household,
        before=before,
        after=_household_snapshot(household),
        reason="set head",
    )
    return household


# --- categories -------------------------------------------------------------------------------------


def _overlapping(person_id: int, category: str, start: datetime.date, end: datetime.date | None):
    qs = PersonCategory.objects.filter(person_id=person_id, category=category)
    qs = qs.exclude(valid_to__lt=start)
    if end is not None:
        qs = qs.exclude(valid_from__gt=end)
    return qs


@transaction.atomic
def grant_category(
    *,
    officer: Any,
    person: Person,
    category: str,
    valid_from: datetime.date,
    valid_to: datetime.date | None = None,
    note: str = "",
) -> PersonCategory:
    """认定类别: the person holds `category` from `valid_from` to `valid_to` (open when None); two grants
    of the same category may not overlap."""
    require_writer(officer)
    person = _lock_person(person)  # serialises grants on one person
    require_scope(officer, person.region)
    if category not in Category.values:
        raise ValidationError({"category": _("类别无效")})
    if person.merged_into_id is not None:
        raise ValidationError({"person": _("该人员已合并到其他记录")})
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError({"valid_to": _("终止日期不能早于起始日期")})
    if _overlapping(person.pk, category, valid_from, valid_to).exists():
        raise ValidationError({"valid_from": _("该人员在此期间已有同一类别的认定")})
    grant = PersonCategory(
        person=person, category=category, valid_from=valid_from, valid_to=valid_to, note=(note or "").strip()
    )
    grant.full_clean()
    grant.save()
    record(actor=officer, action=AuditAction.CREATE, obj=grant, after=_grant_snapshot(grant), reason=note)
    return grant


@transaction.atomic
def end_category(
    *, officer: Any, grant: PersonCategory, valid_to: datetime.date, reason: str = ""
) -> PersonCategory:
    """终止类别: the open grant holds until `valid_to` inclusive."""
    require_writer(officer)
    _lock_person(grant.person)
    grant = PersonCategory.objects.select_related("person__region").get(pk=grant.pk)
    require_scope(officer, grant.person.region)
    if grant.valid_to is not None:
        raise ValidationError(
            {"valid_to": _("该类别认定已于 %(date)s 终止") % {"date": grant.valid_to.isoformat()}}
        )
    if valid_to < grant.valid_from:
        raise ValidationError({"valid_to": _("终止日期不能早于起始日期")})
    before = _grant_snapshot(grant)
    grant.valid_to = valid_to
    grant.save(update_fields=["valid_to"])
    record(
        actor=officer,
        action=AuditAction.UPDATE,
        obj=grant,
        before=before,
        after=_grant_snapshot(grant),
        reason=reason,
    )
    return grant


# --- duplicates -------------------------------------------------------------------------------------


def _lock_open_duplicate(officer: Any, duplicate: PossibleDuplicate) -> PossibleDuplicate:
    duplicate = PossibleDuplicate.objects.select_for_update().select_related("region").get(pk=duplicate.pk)
    require_scope(officer, duplicate.region)
    if duplicate.status != DuplicateStatus.OPEN:
        raise ValidationError({"duplicate": _("该疑似重复记录已处理")})
    return duplicate


@transaction.atomic
def merge_duplicate(*, officer: Any, duplicate: PossibleDuplicate, keep: Person) -> Person:
    """合并重复: the two records are one person. The other record's household stays and category
    grants move onto `keep`; the other record is ended (`merged_into`) but kept for references.

    Refused when the two are current members of different households (move one first). When both are
    in the same household the other's current stay is closed today. A grant of the other that overlaps
    one of `keep`'s grants of the same category is not moved (keep already holds it) and is ended.
    """
    require_writer(officer)
    duplicate = _lock_open_duplicate(officer, duplicate)
    if keep.pk not in (duplicate.person_id, duplicate.other_id):
        raise ValidationError({"keep": _("保留的人员必须是这两条记录之一")})
    drop_id = duplicate.other_id if keep.pk == duplicate.person_id else duplicate.person_id
    first, second = sorted([keep.pk, drop_id])
    locked = {
        p.pk: p for p in Person.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")
    }
    keep, drop = locked[keep.pk], locked[drop_id]
    for p in (keep, drop):
        require_scope(officer, Region.objects.get(pk=p.region_id))
        if p.merged_into_id is not None:
            raise ValidationError({"keep": _("%(name)s 的记录已合并到其他记录") % {"name": p.name}})
    today = _today()
    keep_current, drop_current = _current_membership(keep), _current_membership(drop)
    if keep_current and drop_current and keep_current.household_id != drop_current.household_id:
        raise ValidationError({"keep": _("两条记录分别属于不同的家庭，请先将其中一人移出家庭再合并")})

    moved_memberships, moved_grants, ended_grants = [], [], []
    stays = Membership.objects.filter(person=drop)
    if keep_current and drop_current:
        # Same household entered twice: the other's stay ends, and the head passes to the kept record.
        household = _lock_household(drop_current.household)
        if household.head_id == drop.pk:
            keep_current.relation = Relation.HEAD
            keep_current.save(update_fields=["relation"])
            household.head = keep
            household.save(update_fields=["head", "updated_at"])
        drop_current.left_on = max(today, drop_current.joined_on)
        drop_current.save(update_fields=["left_on"])
        # That stay was the same stay entered twice: it stays with the ended record.
        stays = stays.exclude(pk=drop_current.pk)
    for m in stays.order_by("joined_on"):
        m.person = keep
        m.save(update_fields=["person"])
        moved_memberships.append(m.pk)
    if drop_current and not keep_current:
        Household.objects.filter(pk=drop_current.household_id, head=drop).update(head=keep)
        keep.region_id = drop_current.household.region_id
        keep.save(update_fields=["region", "updated_at"])

    for g in PersonCategory.objects.filter(person=drop).order_by("valid_from"):
        if _overlapping(keep.pk, g.category, g.valid_from, g.valid_to).exists():
            if g.valid_to is None:
                g.valid_to = max(today, g.valid_from)
                g.save(update_fields=["valid_to"])
            ended_grants.append(g.pk)
        else:
            g.person = keep
            g.save(update_fields=["person"])
            moved_grants.append(g.pk)

    drop.merged_into = keep
    drop.save(update_fields=["merged_into", "updated_at"])
    duplicate.status = DuplicateStatus.MERGED
    duplicate.resolved_by = officer
    duplicate.resolved_at = timezone.now()
    duplicate.save(update_fields=["status", "resolved_by", "resolved_at"])
    record(
        actor=officer,
        action=AuditAction.ACTION,
        obj=duplicate,
        before={"person": duplicate.person_id, "other": duplicate.other_id, "status": DuplicateStatus.OPEN},
        after={
            "status": DuplicateStatus.MERGED,
            "kept": keep.pk,
            "ended": drop.pk,
            "ended_id_number": mask_id_number(drop.id_number),
            "moved_memberships": moved_memberships,
            "moved_categories": moved_grants,
            "ended_categories": ended_grants,
        },
        reason="merge duplicate",
    )
    return keep


@transaction.atomic
def dismiss_duplicate(*, officer: Any, duplicate: PossibleDuplicate, reason: str = "") -> PossibleDuplicate:
    """非重复: the two records are different people (same name and birth date by chance)."""
    require_writer(officer)
    duplicate = _lock_open_duplicate(officer, duplicate)
    duplicate.status = DuplicateStatus.DISMISSED
    duplicate.resolved_by = officer
    duplicate.resolved_at = timezone.now()
    duplicate.save(update_fields=["status", "resolved_by", "resolved_at"])
    record(
        actor=officer,
        action=AuditAction.ACTION,
        obj=duplicate,
        before={"status": DuplicateStatus.OPEN},
        after={"status": DuplicateStatus.DISMISSED},
        reason=reason or "dismiss duplicate",
    )
    return duplicate


ADULT_AGE = 18  # 条例第11条: only an adult may be assessed as a separate household


def membership_facts_errors(
    *,
    standing: str,
    married: bool | None,
    living_apart_since: datetime.date | None,
    separate_reason: str,
    birth_date: datetime.date,
    today: datetime.date,
) -> dict[str, str]:
    """What is wrong with a member's 条例第11条 facts, by field (the console form and the import use it):
    a conscript's marital status and a clergy member's date required, the date only for clergy and not
    in the future, only an adult assessed separately."""
    errors: dict[str, str] = {}
    if standing not in MemberStanding.values:
        errors["standing"] = _("成员状况无效")
    if separate_reason and separate_reason not in SeparateReason.values:
        errors["separate_reason"] = _("单独施保原因无效")
    if standing == MemberStanding.SERVING_CONSCRIPT and married is None:
        errors["married"] = _("服义务兵役的成员须填写是否已婚")
    if standing == MemberStanding.CLERGY and living_apart_since is None:
        errors["living_apart_since"] = _("宗教教职人员须填写离家居住起始日期")
    if standing != MemberStanding.CLERGY and living_apart_since is not None:
        errors["living_apart_since"] = _("离家居住起始日期仅适用于宗教教职人员")
    if living_apart_since is not None and living_apart_since > today:
        errors["living_apart_since"] = _("日期不能晚于今天")
    if separate_reason and "separate_reason" not in errors:
        age = today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))
        if age < ADULT_AGE:
            errors["separate_reason"] = _("只有成年人可以单独施保")
    return errors


@transaction.atomic
def set_membership_facts(
    *,
    officer: Any,
    membership: Membership,
    standing: str = MemberStanding.PRESENT,
    married: bool | None = None,
    living_apart_since: datetime.date | None = None,
    separate_reason: str = "",
) -> Membership:
    """成员状况 (条例第11条): record what decides whether a member counts — a serving conscript (and
    whether married), clergy (and since when living apart), a prisoner — and whether an adult with severe
    disability or bedridden illness is assessed as a separate household, with its reason. The
    evaluation then lists the member as counted or not, and why."""
    require_writer(officer)
    membership = (
        Membership.objects.select_for_update()
        .select_related("household__region", "person")
        .get(pk=membership.pk)
    )
    require_scope(officer, membership.household.region)
    if membership.left_on is not None:
        raise ValidationError({"membership": _("该成员已离开家庭")})
    errors = membership_facts_errors(
        standing=standing,
        married=married,
        living_apart_since=living_apart_since,
        separate_reason=separate_reason,
        birth_date=membership.person.birth_date,
        today=_today(),
    )
    if errors:
        raise ValidationError(errors)
    before = _membership_snapshot(membership)
    membership.standing = standing
    membership.married = married
    membership.living_apart_since = living_apart_since
    membership.separate_reason = separate_reason
    membership.separate_assessment = bool(separate_reason)
    membership.save(
        update_fields=["standing", "married", "living_apart_since", "separate_reason", "separate_assessment"]
    )
    record(
        actor=officer,
        action=AuditAction.UPDATE,
        obj=membership,
        before=before,
        after=_membership_snapshot(membership),
    )
    return membership
