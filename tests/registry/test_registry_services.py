"""Registry services: registration with identity checks, duplicates, membership history, categories,
scope and audit."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from idnumbers import make_id

from doudi.audit.models import AuditAction, AuditEntry
from doudi.audit.services import verify_chain
from doudi.registry import services as reg
from doudi.registry.models import (
    DuplicateStatus,
    Household,
    Membership,
    Person,
    PersonCategory,
    PossibleDuplicate,
    Relation,
)

D = datetime.date
JAN1 = D(2020, 1, 1)


@pytest.fixture
def household(regions, district_a):
    return reg.register_household(
        officer=district_a, region=regions.a_v, area_type="urban", address="高笋塘路1号"
    )


def _person(officer, household, seq, *, name=None, birth="19800101", relation=Relation.CHILD, **kw):
    return reg.register_person(
        officer=officer,
        id_number=make_id("500101", birth, seq),
        name=name or f"成员{seq}",
        household=household,
        relation=relation,
        joined_on=kw.pop("joined_on", JAN1),
        **kw,
    )


def test_register_person_derives_birth_date_and_sex_and_audits(household, district_a):
    number = make_id("440305", "19850615", 124)  # another province; even sequence → female
    person = reg.register_person(
        officer=district_a,
        id_number=number.lower(),
        name=" 李四 ",
        household=household,
        relation=Relation.HEAD,
        joined_on=JAN1,
        income_wage_fen=150_000,
        phone="023-6123 4567",
    )
    assert (person.birth_date, person.sex, person.name, person.region_id) == (
        D(1985, 6, 15),
        "F",
        "李四",
        "500101001001",
    )
    assert person.phone == "023-61234567"
    household.refresh_from_db()
    assert household.head == person
    m = Membership.objects.get(person=person)
    assert (m.relation, m.joined_on, m.left_on) == (Relation.HEAD, JAN1, None)
    created = AuditEntry.objects.filter(object_type="registry.person", object_id=str(person.pk)).get()
    assert created.action == AuditAction.CREATE and created.actor == district_a
    assert number not in str(created.after)  # the append-only log keeps only a masked ID
    assert verify_chain().ok


def test_given_birth_date_or_sex_contradicting_the_id_is_refused(household, district_a):
    number = make_id("500101", "19800101", 11)
    with pytest.raises(ValidationError) as exc:
        reg.register_person(officer=district_a, id_number=number, name="张三", household=household,
                            relation=Relation.HEAD, birth_date=D(1980, 1, 2), sex="F")  # fmt: skip
    assert set(exc.value.message_dict) == {"birth_date", "sex"}
    assert "1980-01-01" in exc.value.message_dict["birth_date"][0]
    assert not Person.objects.exists()
    ok = reg.register_person(officer=district_a, id_number=number, name="张三", household=household,
                             relation=Relation.HEAD, birth_date=D(1980, 1, 1), sex="M")  # fmt: skip
    assert ok.pk


def test_invalid_id_is_refused_with_the_reason(household, district_a):
    good = make_id("500101", "19800101", 11)
    with pytest.raises(ValidationError) as exc:
        reg.register_person(officer=district_a, id_number=good[:-1] + ("1" if good[-1] != "1" else "2"),
                            name="张三", household=household, relation=Relation.HEAD)  # fmt: skip
    assert "校验位" in exc.value.message_dict["id_number"][0]


def test_same_id_number_is_refused(household, district_a, regions, district_b):
    _person(district_a, household, 11, relation=Relation.HEAD)
    other = reg.register_household(officer=district_b, region=regions.b_v, area_type="rural")
    with pytest.raises(ValidationError) as exc:
        reg.register_person(officer=district_b, id_number=make_id("500101", "19800101", 11).lower(),
                            name="别人", household=other, relation=Relation.HEAD)  # fmt: skip
    assert exc.value.message_dict["id_number"] == ["该身份证号已登记，不能重复登记"]
    assert Person.objects.count() == 1


def test_same_name_and_birth_date_in_village_is_queued_and_person_still_created(
    household, district_a, regions
):
    first = _person(district_a, household, 11, name="王芳", relation=Relation.HEAD)
    second = reg.register_person(officer=district_a, id_number=make_id("500101", "19800101", 13), name="王芳",
                                 region=regions.a_v)  # fmt: skip
    assert second.pk and second.region_id == regions.a_v.pk
    dup = PossibleDuplicate.objects.get()
    assert (dup.person, dup.other, dup.status, dup.region_id) == (
        second,
        first,
        DuplicateStatus.OPEN,
        "500101001001",
    )
    # Another village: not a possible duplicate.
    reg.register_person(officer=district_a, id_number=make_id("500101", "19800101", 15), name="王芳",
                        region=regions.a_v2)  # fmt: skip
    assert PossibleDuplicate.objects.count() == 1


def test_merge_moves_memberships_and_categories_and_ends_the_other(household, district_a, regions):
    head = _person(district_a, household, 11, name="户主", relation=Relation.HEAD)
    kept = reg.register_person(officer=district_a, id_number=make_id("500101", "19900101", 21), name="王芳",
                               region=regions.a_v)  # fmt: skip
    typo = _person(district_a, household, 23, name="王芳", birth="19900101", relation=Relation.SPOUSE)
    reg.grant_category(officer=district_a, person=typo, category="dibao", valid_from=JAN1)
    reg.grant_category(officer=district_a, person=kept, category="tekun", valid_from=D(2019, 1, 1))
    reg.grant_category(officer=district_a, person=typo, category="tekun", valid_from=D(2019, 6, 1))
    dup = PossibleDuplicate.objects.get()
    assert {dup.person_id, dup.other_id} == {kept.pk, typo.pk}

    reg.merge_duplicate(officer=district_a, duplicate=dup, keep=kept)

    kept.refresh_from_db()
    typo.refresh_from_db()
    assert typo.merged_into == kept
    current = Membership.objects.get(person=kept, left_on__isnull=True)
    assert (current.household, current.relation) == (household, Relation.SPOUSE)
    assert not Membership.objects.filter(person=typo).exists()
    assert kept.region_id == household.region_id
    # dibao moved; the overlapping tekun grant of the ended record stays with it and is ended.
    assert set(PersonCategory.objects.filter(person=kept).values_list("category", flat=True)) == {
        "dibao",
        "tekun",
    }
    left = PersonCategory.objects.get(person=typo)
    assert left.category == "tekun" and left.valid_to is not None
    dup.refresh_from_db()
    assert dup.status == DuplicateStatus.MERGED and dup.resolved_by == district_a
    entry = AuditEntry.objects.filter(
        object_type="registry.possibleduplicate", action=AuditAction.ACTION
    ).get()
    assert entry.after["kept"] == kept.pk and entry.after["ended"] == typo.pk
    assert household.memberships.filter(left_on__isnull=True).count() == 2
    assert Household.objects.get(pk=household.pk).head == head
    # Resolved once only.
    with pytest.raises(ValidationError):
        reg.dismiss_duplicate(officer=district_a, duplicate=dup)


def test_merge_of_two_records_in_the_same_household_keeps_one_stay(household, district_a):
    head = _person(district_a, household, 11, name="王芳", relation=Relation.HEAD)
    again = _person(district_a, household, 13, name="王芳", relation=Relation.SPOUSE)
    dup = PossibleDuplicate.objects.get()
    reg.merge_duplicate(officer=district_a, duplicate=dup, keep=again)  # keep the later entry
    household.refresh_from_db()
    assert household.head == again
    assert Membership.objects.get(person=again, left_on__isnull=True).relation == Relation.HEAD
    assert Membership.objects.get(person=head).left_on is not None


def test_merge_refused_across_households_and_dismiss_works(household, district_a, regions):
    _person(district_a, household, 11, name="王芳", relation=Relation.HEAD)
    other = reg.register_household(officer=district_a, region=regions.a_v, area_type="urban")
    _person(district_a, other, 13, name="王芳", relation=Relation.HEAD)
    dup = PossibleDuplicate.objects.get()
    with pytest.raises(ValidationError):
        reg.merge_duplicate(officer=district_a, duplicate=dup, keep=dup.person)
    reg.dismiss_duplicate(officer=district_a, duplicate=dup, reason="双胞胎")
    dup.refresh_from_db()
    assert dup.status == DuplicateStatus.DISMISSED and dup.resolved_at is not None
    assert Person.objects.filter(merged_into__isnull=False).count() == 0


def test_duplicates_out_of_scope_cannot_be_resolved(household, district_a, district_b):
    _person(district_a, household, 11, name="王芳", relation=Relation.HEAD)
    _person(district_a, household, 13, name="王芳")
    dup = PossibleDuplicate.objects.get()
    with pytest.raises(PermissionDenied):
        reg.dismiss_duplicate(officer=district_b, duplicate=dup)
    with pytest.raises(PermissionDenied):
        reg.merge_duplicate(officer=district_b, duplicate=dup, keep=dup.person)


def test_membership_history_through_remove_add_and_move(household, district_a, regions):
    head = _person(district_a, household, 11, relation=Relation.HEAD)
    child = _person(district_a, household, 13)
    second = reg.register_household(officer=district_a, region=regions.a_v2, area_type="urban")

    reg.move_member(officer=district_a, person=child, to_household=second, relation=Relation.HEAD,
                    moved_on=D(2020, 3, 1))  # fmt: skip
    child.refresh_from_db()
    assert child.region_id == regions.a_v2.pk
    second.refresh_from_db()
    assert second.head == child
    reg.remove_member(officer=district_a, household=second, person=child, left_on=D(2020, 5, 1))
    second.refresh_from_db()
    assert second.head is None
    # Joining again before the last stay ended is refused; after is fine.
    with pytest.raises(ValidationError) as exc:
        reg.add_member(officer=district_a, household=household, person=child, relation=Relation.CHILD,
                       joined_on=D(2020, 4, 1))  # fmt: skip
    assert "joined_on" in exc.value.message_dict
    reg.add_member(officer=district_a, household=household, person=child, relation=Relation.CHILD,
                   joined_on=D(2020, 6, 1))  # fmt: skip
    child.refresh_from_db()
    assert child.region_id == regions.a_v.pk
    history = list(Membership.objects.filter(person=child).order_by("joined_on").values_list(
        "household_id", "relation", "joined_on", "left_on"))  # fmt: skip
    assert history == [
        (household.pk, Relation.CHILD, JAN1, D(2020, 3, 1)),
        (second.pk, Relation.HEAD, D(2020, 3, 1), D(2020, 5, 1)),
        (household.pk, Relation.CHILD, D(2020, 6, 1), None),
    ]
    # A current member cannot be added elsewhere (one current household).
    with pytest.raises(ValidationError):
        reg.add_member(officer=district_a, household=second, person=head, relation=Relation.HEAD,
                       joined_on=D(2020, 7, 1))  # fmt: skip


def test_head_cannot_leave_while_others_stay_and_set_head(household, district_a):
    head = _person(district_a, household, 11, relation=Relation.HEAD)
    spouse = _person(district_a, household, 12, relation=Relation.SPOUSE)
    with pytest.raises(ValidationError):
        reg.remove_member(officer=district_a, household=household, person=head, left_on=D(2020, 2, 1))
    with pytest.raises(ValidationError):  # a second head
        _person(district_a, household, 13, relation=Relation.HEAD)
    reg.set_head(
        officer=district_a, household=household, person=spouse, previous_head_relation=Relation.SPOUSE
    )
    household.refresh_from_db()
    assert household.head == spouse
    relations = dict(Membership.objects.filter(household=household).values_list("person_id", "relation"))
    assert relations == {head.pk: Relation.SPOUSE, spouse.pk: Relation.HEAD}
    reg.remove_member(officer=district_a, household=household, person=head, left_on=D(2020, 2, 1))
    with pytest.raises(ValidationError):  # no longer a member
        reg.set_head(officer=district_a, household=household, person=head)


def test_categories_have_validity_and_no_overlap(household, district_a):
    person = _person(district_a, household, 11, relation=Relation.HEAD)
    grant = reg.grant_category(officer=district_a, person=person, category="dibao", valid_from=JAN1)
    with pytest.raises(ValidationError):  # open grant overlaps anything later
        reg.grant_category(officer=district_a, person=person, category="dibao", valid_from=D(2021, 1, 1))
    reg.grant_category(officer=district_a, person=person, category="tekun", valid_from=JAN1)  # other category
    with pytest.raises(ValidationError):
        reg.end_category(officer=district_a, grant=grant, valid_to=D(2019, 12, 31))
    reg.end_category(officer=district_a, grant=grant, valid_to=D(2020, 6, 30), reason="收入超标")
    with pytest.raises(ValidationError):  # 2020-06-30 is still inside the first grant
        reg.grant_category(officer=district_a, person=person, category="dibao", valid_from=D(2020, 6, 30))
    again = reg.grant_category(officer=district_a, person=person, category="dibao", valid_from=D(2020, 7, 1))
    assert again.valid_to is None
    with pytest.raises(ValidationError):  # a closed grant before an open one may not reach into it
        reg.grant_category(officer=district_a, person=person, category="dibao", valid_from=D(2019, 1, 1),
                           valid_to=D(2020, 8, 1))  # fmt: skip
    with pytest.raises(ValidationError):
        reg.end_category(officer=district_a, grant=grant, valid_to=D(2020, 7, 1))  # already ended


def test_scope_and_read_only_roles(household, regions, district_b, supervisor, make_user):
    with pytest.raises(PermissionDenied):
        reg.register_household(officer=district_b, region=regions.a_v, area_type="urban")
    with pytest.raises(PermissionDenied):
        reg.register_person(officer=district_b, id_number=make_id("500101", "19800101", 11), name="张三",
                            household=household, relation=Relation.HEAD)  # fmt: skip
    with pytest.raises(PermissionDenied):  # a supervisor sees everything but writes nothing
        reg.register_household(officer=supervisor, region=regions.a_v, area_type="urban")
    worker = make_user("reg_worker", regions.a_v2, "village_worker")
    with pytest.raises(PermissionDenied):  # a village worker only in their own village
        reg.register_household(officer=worker, region=regions.a_v, area_type="urban")
    assert reg.register_household(officer=worker, region=regions.a_v2, area_type="rural").pk
    with pytest.raises(ValidationError):  # households live in villages, not townships
        reg.register_household(officer=district_b, region=regions.b_t, area_type="urban")


def test_moving_to_a_household_outside_scope_is_refused(household, district_a, regions, city_admin):
    child = _person(district_a, household, 13, relation=Relation.HEAD)
    far = reg.register_household(officer=city_admin, region=regions.b_v, area_type="rural")
    with pytest.raises(PermissionDenied):
        reg.move_member(officer=district_a, person=child, to_household=far, relation=Relation.HEAD,
                        moved_on=D(2020, 3, 1))  # fmt: skip
    assert Membership.objects.get(person=child).left_on is None
    # The city administrator covers both districts.
    reg.move_member(officer=city_admin, person=child, to_household=far, relation=Relation.HEAD,
                    moved_on=D(2020, 3, 1))  # fmt: skip
    child.refresh_from_db()
    assert child.region_id == regions.b_v.pk


def test_registered_names_and_addresses_carry_no_invisible_characters(district_a, regions):
    household = reg.register_household(
        officer=district_a, region=regions.a_v, area_type="urban", address="\u200b高笋塘路\u3000 1号\ufeff"
    )
    person = reg.register_person(
        officer=district_a,
        id_number=make_id("500101", "19800101", 91),
        name="\u200b\u202e欧阳小明\u200d",
        household=household,
        relation=Relation.HEAD,
    )
    assert (person.name, household.address) == ("欧阳小明", "高笋塘路 1号")
    with pytest.raises(ValidationError) as exc:
        reg.register_person(
            officer=district_a, id_number=make_id("500101", "19800101", 92), name="\u200b\u200b", household=household,
            relation=Relation.SPOUSE,
        )  # fmt: skip
    assert "name" in exc.value.message_dict
