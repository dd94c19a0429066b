"""Discovery fixtures: a household maker that states what matters to the sweep, department extracts
through the verification fixtures, officers of township A."""

import datetime as dt

import pytest

from verification.conftest import data_dir, id_number, load, write_extract  # noqa: F401

DAY = dt.date(2020, 3, 31)
PREVIOUS = dt.date(2020, 1, 31)


@pytest.fixture
def township_officer(regions, make_user):
    return make_user("disc_township_a", regions.a_t, "township_officer")


@pytest.fixture
def village_worker(regions, make_user):
    return make_user("disc_village_a", regions.a_v, "village_worker")


@pytest.fixture
def household(regions):
    """household([{birth, relation, wage, business, transfer, categories, confirmed, died, …}], area_type=…,
    enrolled=…) -> Household, its members created in order (the first is the head)."""
    from doudi.registry.models import Household, Membership, Person, PersonCategory

    def make(members, *, area_type="urban", enrolled=False, village=None, deposits_fen=0):
        village = village or regions.a_v
        h = Household.objects.create(region=village, area_type=area_type, dibao_enrolled=enrolled,
                                     dibao_last_amount=300 if enrolled else None, deposits_fen=deposits_fen)  # fmt: skip
        for i, m in enumerate(members):
            birth = m.get("birth", dt.date(1980, 1, 1))
            p = Person.objects.create(
                id_number=id_number(birth.strftime("%Y%m%d")), name=m.get("name", f"成员{h.pk}-{i}"),
                birth_date=birth, sex="M", region=village,
                income_wage_fen=m.get("wage", 0) * 100, income_business_fen=m.get("business", 0) * 100,
                income_transfer_fen=m.get("transfer", 0) * 100,
                covid_confirmed_on=m.get("confirmed"), covid_died_on=m.get("died"),
            )  # fmt: skip
            Membership.objects.create(household=h, person=p, relation=m.get("relation", "head" if i == 0 else "spouse"),
                                      joined_on=dt.date(2010, 1, 1))  # fmt: skip
            for c in m.get("categories", ()):
                PersonCategory.objects.create(person=p, category=c, valid_from=dt.date(2016, 1, 1))
            if i == 0:
                h.head = p
                h.save(update_fields=["head"])
        return h

    return make


@pytest.fixture
def sweep():
    """sweep(day=DAY) -> {(kind, household_id, person_id): Lead} of the live leads after it."""
    from doudi.discovery.models import LIVE_STATES, Lead
    from doudi.discovery.services import execute_sweep

    def run(day=DAY):
        execute_sweep(day)
        return {(x.kind, x.household_id, x.person_id): x for x in Lead.objects.filter(state__in=LIVE_STATES)}

    return run


def member(h, i=0):
    return h.memberships.order_by("id")[i].person
