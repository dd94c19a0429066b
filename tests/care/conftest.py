"""Fixtures for the care tests: officers in districts A and B, an institution in each."""

import datetime

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(regions, make_user):
    r = regions
    spec = {
        "a_inst": (r.a, "institution_staff"),
        "a_district": (r.a, "district_officer"),
        "a_township": (r.a_t, "township_officer"),
        "a_village": (r.a_v, "village_worker"),
        "a_village2": (r.a_v2, "village_worker"),
        "b_inst": (r.b, "institution_staff"),
        "b_district": (r.b, "district_officer"),
        "b_village": (r.b_v, "village_worker"),
        "city_admin": (r.city, "municipal_admin"),
        "auditor": (r.city, "auditor"),
    }
    users = {}
    for name, (region, role) in spec.items():
        user = make_user(name, region, role)
        user.full_name = name
        user.save(update_fields=["full_name"])
        users[name] = user
    return type("Staff", (), users)


@pytest.fixture
def homes(regions, staff):
    from doudi.care.services import save_institution

    def make(by, region, name):
        return save_institution(
            by=by,
            name=name,
            kind="elderly_home",
            region=region,
            capacity=120,
            contact_name="李院长",
            contact_phone="13900001111",
        )

    return type(
        "Homes",
        (),
        {
            "a": make(staff.a_district, regions.a_t, "高笋塘敬老院"),
            "a2": make(staff.a_district, regions.a_v2, "太白养老院"),
            "b": make(staff.b_district, regions.b_t, "敦仁敬老院"),
        },
    )


@pytest.fixture
def scheduled_person(db):
    """A person in `region` holding a registry category since `since_days_ago` days."""
    from django.utils import timezone
    from stdnum.cn import ric

    from doudi.registry.models import Person, PersonCategory

    seq = {"n": 0}

    def make(
        region, name, category, since_days_ago=100, orphan_care="scattered", birth=datetime.date(1940, 1, 1)
    ):
        seq["n"] += 1
        body = f"500101{birth:%Y%m%d}{seq['n']:03d}"
        p = Person.objects.create(
            id_number=body + ric.calc_check_digit(body + "0"),
            name=name,
            birth_date=birth,
            sex="F",
            region=region,
            phone="13712345678",
            orphan_care=orphan_care,
        )
        PersonCategory.objects.create(
            person=p,
            category=category,
            valid_from=timezone.localdate() - datetime.timedelta(days=since_days_ago),
        )
        return p

    return make


@pytest.fixture
def arrange(db):
    """`arrange(by, person, **changes)`: a care arrangement (三(四)) for 14 days from today unless changed."""
    from django.utils import timezone

    from doudi.care.services import arrange_care

    def make(by, person, **changes):
        today = timezone.localdate()
        data = {
            "dependent_kind": "elderly",
            "carer_name": "陈儿子",
            "carer_absence": "confirmed",
            "provider_kind": "village",
            "provider_name": "社区网格员刘芳",
            "provider_phone": "13900002222",
            "starts_on": today,
            "ends_on": today + datetime.timedelta(days=14),
        } | changes
        return arrange_care(by=by, person=person, **data)

    return make
