"""Fixtures for the intake tests: officers of every role in districts A and B, people, cases."""

import datetime

import pytest
from stdnum.cn import ric


def make_id_number(prefix: str, birth: datetime.date, seq: int) -> str:
    """A valid 18-digit resident ID (correct check digit) for test people."""
    body = f"{prefix}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The officers fixture creates ~17 users per test; argon2 would dominate the run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def officers(regions, make_user):
    """One user per role that acts on cases, bound where the role belongs."""
    r = regions
    spec = {
        "a_village": (r.a_v, "village_worker"),
        "a_village2": (r.a_v2, "village_worker"),
        "a_township": (r.a_t, "township_officer"),
        "a_district": (r.a, "district_officer"),
        "a_district2": (r.a, "district_officer"),
        "a_approver": (r.a, "district_approver"),
        "a_approver2": (r.a, "district_approver"),
        "a_station": (r.a, "rescue_station"),
        "a_institution": (r.a, "institution_staff"),
        "a_patrol": (r.a, "patrol_reporter"),
        "b_village": (r.b_v, "village_worker"),
        "b_township": (r.b_t, "township_officer"),
        "b_district": (r.b, "district_officer"),
        "b_approver": (r.b, "district_approver"),
        "city_admin": (r.city, "municipal_admin"),
        "supervisor": (r.city, "municipal_supervisor"),
        "auditor": (r.city, "auditor"),
    }
    return type(
        "Officers", (), {name: make_user(name, region, role) for name, (region, role) in spec.items()}
    )


@pytest.fixture
def make_person(db):
    from doudi.registry.models import Household, Membership, Person

    counter = {"n": 0}

    def make(
        region,
        name="张三",
        *,
        household=None,
        birth=datetime.date(1980, 5, 1),
        prefix="500101",
        with_household=True,
        relation="head",
    ):
        counter["n"] += 1
        person = Person.objects.create(
            id_number=make_id_number(prefix, birth, counter["n"]),
            name=name,
            birth_date=birth,
            sex="M" if counter["n"] % 2 else "F",
            region=region,
            phone="13800138000",
        )
        if household is None and with_household:
            household = Household.objects.create(region=region, area_type="urban")
        if household is not None:
            Membership.objects.create(
                household=household, person=person, relation=relation, joined_on=datetime.date(2010, 1, 1)
            )
        return person

    return make


@pytest.fixture
def open_case(officers, regions):
    """File a case with sensible defaults (walk-in, filed by the A township officer in A's village)."""
    from doudi.intake import services

    def make(case_type="temporary", *, by=None, region=None, applicant=None, **kwargs):
        kwargs.setdefault("channel", "walk_in")
        kwargs.setdefault("summary", "因疫情收入下降，申请救助")
        if case_type == "temporary":
            kwargs.setdefault("subtype", "urgent")
        if case_type == "children":
            kwargs.setdefault("subtype", "orphan")
        if case_type == "change_report":  # as change_report.file_report registers it
            kwargs.setdefault("details", {"change_report": {"kinds": ["income"]}})
        if applicant is None:
            kwargs.setdefault("applicant_name", "李四")
        return services.open_case(
            by=by or officers.a_township,
            case_type=case_type,
            region=region or regions.a_v,
            applicant=applicant,
            **kwargs,
        )

    return make


@pytest.fixture
def frozen_today(monkeypatch):
    """Pin "today" (timezone.now) so SLA dates are deterministic: call with a date."""
    from django.utils import timezone

    def freeze(day: datetime.date, hour: int = 10):
        import zoneinfo

        moment = datetime.datetime(
            day.year, day.month, day.day, hour, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai")
        )
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return freeze
