"""人员与家庭 reads for systems: scoped to the caller's region, masked in lists, every read logged."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema

from doudi.api.auth import STAFF_AUTH
from doudi.api.errors import ErrorsOut
from doudi.api.schemas import one_of
from doudi.audit.services import record_read
from doudi.core.masking import mask_id_number, mask_name, mask_phone
from doudi.registry import selectors
from doudi.registry.models import AreaType, Category, Relation

router = Router(tags=["registry"], auth=STAFF_AUTH)

ERRORS = frozenset({401, 403, 404, 422, 429})
MAX_ID = 2**63 - 1  # a larger number cannot be a row id (and would overflow the database driver)
AREA_TYPE, CATEGORY, RELATION = one_of(AreaType), one_of(Category), one_of(Relation)


class PersonListOut(Schema):
    id: int
    id_number: str  # masked: 500101********1234
    name: str  # masked: 张*明
    region: str
    household_id: int | None


class CategoryOut(Schema):
    category: CATEGORY
    valid_from: date
    valid_to: date | None


class MemberOut(Schema):
    person_id: int
    name: str
    id_number: str  # masked
    phone: str  # masked
    birth_date: date
    relation: RELATION
    joined_on: date
    left_on: date | None
    current: bool
    categories: list[CategoryOut]


class HouseholdOut(Schema):
    id: int
    region: str
    region_name: str
    area_type: AREA_TYPE
    dibao_enrolled: bool
    dibao_last_amount: int | None
    deposits_fen: int
    vehicles: int
    houses: int
    members: list[MemberOut]


@router.get(
    "/persons",
    response={200: list[PersonListOut], ERRORS: ErrorsOut},
    summary="Find a person by resident ID number (masked result)",
)
def find_person(
    request,
    id_number: str = Query(..., pattern=r"^\d{17}[\dXx]$", description="the 18-digit resident ID number"),
):
    """Exact look-up by the 18-digit ID; the match is masked, and the look-up is logged as a read."""
    if selectors.normalise_id_number(id_number) is None:
        raise ValidationError({"id_number": _("请输入18位居民身份证号码。")})
    people = list(selectors.search_people(request.auth, id_number))
    out = []
    for person in people:
        record_read(actor=request.auth, obj=person, reason="api: id_number look-up")
        current = person.current_memberships[0] if person.current_memberships else None
        out.append(
            {
                "id": person.pk,
                "id_number": mask_id_number(person.id_number),
                "name": mask_name(person.name),
                "region": person.region_id,
                "household_id": current.household_id if current else None,
            }
        )
    return out


@router.get(
    "/households/{household_id}",
    response={200: HouseholdOut, ERRORS: ErrorsOut},
    summary="A household with its members (IDs and phones masked); logged as a read",
)
def get_household(request, household_id: int = Path(..., ge=1, le=MAX_ID)):
    detail = selectors.household_detail(request.auth, household_id)
    h = detail.household
    return {
        "id": h.pk,
        "region": h.region_id,
        "region_name": h.region.name,
        "area_type": h.area_type,
        "dibao_enrolled": h.dibao_enrolled,
        "dibao_last_amount": h.dibao_last_amount,
        "deposits_fen": h.deposits_fen,
        "vehicles": h.vehicles,
        "houses": h.houses,
        "members": [
            {
                "person_id": row.person.pk,
                # a past member who now lives outside the caller's scope keeps only a masked name
                "name": row.person.name if row.visible else mask_name(row.person.name),
                "id_number": mask_id_number(row.person.id_number),
                "phone": mask_phone(row.person.phone),
                "birth_date": row.person.birth_date,
                "relation": row.membership.relation,
                "joined_on": row.membership.joined_on,
                "left_on": row.membership.left_on,
                "current": row.is_current,
                "categories": [
                    {"category": c.category, "valid_from": c.valid_from, "valid_to": c.valid_to}
                    for c in row.categories
                ],
            }
            for row in detail.members
        ],
    }
