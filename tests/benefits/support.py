"""Shared helpers of the dibao / enrolment / 公示 tests: officers, a registered household, the flow
driven step by step through the services, an emergency window, a pinned "today".

tests/benefits and tests/disclosure import the fixtures from here (their conftest); the dibao tests
under tests/intake use the intake conftest's fixtures of the same names (`officers`, `frozen_today`)
and the plain helper functions below.
"""

from __future__ import annotations

import datetime
import itertools
import zoneinfo

import pytest
from stdnum.cn import ric

D = datetime.date
_serial = itertools.count(1)


def id_number(birth: datetime.date = D(1980, 5, 1), prefix: str = "500101") -> str:
    body = f"{prefix}{birth:%Y%m%d}{next(_serial) % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


# --- fixtures (imported by the conftest of tests/benefits and tests/disclosure) ----------------------------


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache(db):
    # On PostgreSQL the cache is a database table (settings.DOUDI_CACHE): clearing it needs the database.
    from django.core.cache import cache

    cache.clear()  # rate-limit counters live in the cache
    yield
    cache.clear()


@pytest.fixture
def officers(regions, make_user):
    r = regions
    spec = {
        "a_village": (r.a_v, "village_worker"),
        "a_township": (r.a_t, "township_officer"),
        "a_district": (r.a, "district_officer"),
        "a_approver": (r.a, "district_approver"),
        "b_township": (r.b_t, "township_officer"),
        "b_district": (r.b, "district_officer"),
        "b_approver": (r.b, "district_approver"),
        "city_admin": (r.city, "municipal_admin"),
        "supervisor": (r.city, "municipal_supervisor"),
    }
    return type(
        "Officers", (), {name: make_user(name, region, role) for name, (region, role) in spec.items()}
    )


@pytest.fixture
def frozen_today(monkeypatch):
    from django.utils import timezone

    def freeze(day: datetime.date, hour: int = 10):
        moment = datetime.datetime(
            day.year, day.month, day.day, hour, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")
        )
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return freeze


# --- plain helpers ------------------------------------------------------------------------------------


def make_household(village, members, *, area_type="urban", address="解放路1号3单元", deposits_fen=0):
    """A household with its members: members = [(name, wage_fen), …] (first is the head)."""
    from doudi.registry.models import Household, Membership, Person

    household = Household.objects.create(
        region=village, area_type=area_type, address=address, deposits_fen=deposits_fen
    )
    people = []
    for i, (name, wage_fen) in enumerate(members):
        birth = D(1980 - i, 5, 1)
        p = Person.objects.create(
            id_number=id_number(birth, village.code[:6]),
            name=name,
            birth_date=birth,
            sex="M" if i % 2 == 0 else "F",
            region=village,
            phone=f"1390000{next(_serial) % 10000:04d}",
            income_wage_fen=wage_fen,
        )
        Membership.objects.create(
            household=household, person=p, relation="head" if i == 0 else "child", joined_on=D(2010, 1, 1)
        )
        people.append(p)
    household.head = people[0]
    household.save(update_fields=["head"])
    return household, people


def enrolled_dibao(village):
    """An urban household of 3 paid 338 yuan a month in dibao from 2020-03 (standard 546 × 3 = 1638,
    wages 1000 + 300): (household, people, enrolment)."""
    from django.utils import timezone

    from doudi.benefits.models import Enrolment

    household, people = make_household(village, [("张小明", 100000), ("李红", 30000), ("张乐", 0)])
    household.dibao_enrolled, household.dibao_last_amount = True, 338
    household.save()
    enrolment = Enrolment.objects.create(
        household=household,
        scheme="dibao",
        from_month=D(2020, 3, 1),
        monthly_amount=338,
        approved_at=timezone.now(),
    )
    return household, people, enrolment


def declare_window(officers, start, end=None, districts=None):
    from doudi.regions.services import declare_window as declare

    return declare(
        by=officers.city_admin,
        name="疫情防控期间",
        start=start,
        end=end,
        districts=districts,
        reason="一级响应",
    )


def file_dibao(officers, applicant, *, by=None, region=None):
    from doudi.intake import services

    return services.open_case(
        by=by or officers.a_township,
        case_type="dibao",
        channel="walk_in",
        region=region or applicant.region,
        summary="因疫情收入下降，申请低保",
        applicant=applicant,
    )


def act(case, action, by, reason="", **data):
    """Take a flow action with the version the officer saw (like the console and the API)."""
    from doudi.intake import services
    from doudi.intake.models import Case

    case = Case.objects.get(pk=case.pk)
    return services.perform_action(
        case=case, action=action, by=by, reason=reason, data=data, expected_version=case.version
    )


def figures(people, wages_yuan, *, deposits="0", vehicles="0", houses="1"):
    """The economic-data form for `people`: one wage per person (yuan), other kinds 0."""
    data = {
        "source": "declared",
        "method": "visit",
        "deposits": deposits,
        "vehicles": vehicles,
        "houses": houses,
    }
    for p, wage in zip(people, wages_yuan, strict=True):
        data[f"income_{p.pk}_wage"] = str(wage)
        for kind in ("business", "agricultural", "property", "transfer", "exempt"):
            data[f"income_{p.pk}_{kind}"] = "0"
        data[f"work_{p.pk}"] = "none"
    return data


def to_evaluated(case, officers, people, wages_yuan=(1000, 300, 0)):
    case = act(case, "accept", officers.a_township)
    case = act(case, "economic_data", officers.a_township, "入户调查", **figures(people, wages_yuan))
    return act(case, "evaluate", officers.a_township)


def objection_of(case):
    from doudi.intake.models import Case

    return Case.objects.filter(case_type="objection", related_case=case).order_by("-pk").first()
