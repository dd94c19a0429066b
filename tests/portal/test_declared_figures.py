"""What the citizen declared online stays on the case and shows beside the registry's figures and the
verification report's, with the differences (申报与核对对照)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from doudi.intake.models import Case
from doudi.intake.selectors import declared_figures
from doudi.registry.models import Household, Membership, Person
from doudi.verification.models import CheckReport, Consent

pytestmark = pytest.mark.django_db
D = datetime.date


def _id(birth, seq):
    from stdnum.cn import ric

    body = f"500101{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


@pytest.fixture
def family(regions):
    home = Household.objects.create(region=regions.a_v, area_type="urban", address="高笋塘路8号")
    people = []
    for name, birth, seq, wage, relation in (
        ("张伟", D(1985, 4, 2), 1, 120_000, "head"),
        ("李娜", D(1987, 9, 9), 2, 0, "spouse"),
        ("张小明", D(2010, 1, 1), 3, 30_000, "child"),  # not on the application
    ):
        person = Person.objects.create(
            id_number=_id(birth, seq),
            name=name,
            birth_date=birth,
            sex="M",
            region=regions.a_v,
            income_wage_fen=wage,
        )
        Membership.objects.create(household=home, person=person, relation=relation, joined_on=D(2010, 1, 1))
        people.append(person)
    return home, people


def _apply(client, application, people):
    data = application(
        applicant_id_number=people[0].id_number,
        applicant_income="800",
        **{"members-0-id_number": people[1].id_number, "members-0-income": ""},
    )
    assert client.post(reverse("portal:apply", args=["dibao"]), data).status_code == 302
    return Case.objects.get()


def test_declared_figures_beside_registry_and_report(client, regions, application, family, make_user):
    home, people = family
    case = _apply(client, application, people)
    officer = make_user("officer_t", regions.a_t, "township_officer")
    from doudi.intake import services as intake

    case = intake.identify_applicant(case=case, by=officer, person=people[0])
    consent = Consent.objects.get(household=home)
    CheckReport.objects.create(
        household=home,
        consent=consent,
        requested_by=officer,
        created_at=timezone.now(),
        as_of=timezone.localdate(),
        period="2020-03",
        data={
            "members": [
                {
                    "person_id": p.pk,
                    "income": {"wage": {"verified_fen": w}, "exempt": {"verified_fen": 99_900}},
                }
                for p, w in zip(people, (150_000, 0, 30_000), strict=True)
            ]
        },
        declared_income_fen=0,
        verified_income_fen=180_000,
    )
    figures = declared_figures(Case.objects.get())
    rows = [(r.name, r.declared_fen, r.registry_fen, r.verified_fen) for r in figures.rows]
    assert rows == [
        ("张伟", 80_000, 120_000, 150_000),
        ("李娜", 0, 0, 0),  # a blank income is a declared 0
        ("张小明", None, 30_000, 30_000),  # in the registry household, not declared
    ]
    applicant = figures.rows[0]
    assert (applicant.registry_difference_fen, applicant.verified_difference_fen) == (40_000, 70_000)
    assert figures.difference_count == 2 and figures.declared_total_fen == 80_000
    assert figures.verified_total_fen == 180_000

    client.force_login(officer)
    page = client.get(reverse("intake:case", args=[case.pk])).content.decode()
    assert 'data-testid="declared-figures"' in page and "+700.00" in page and "+400.00" in page
    assert "未申报" in page and people[0].id_number not in page  # ID numbers masked


def test_unlinked_application_shows_the_declaration_alone(client, regions, application, family, make_user):
    home, people = family
    case = _apply(client, application, people)
    figures = declared_figures(case)
    assert [(r.declared_fen, r.verified_fen) for r in figures.rows] == [(80_000, None), (0, None)]
    assert figures.report is None


def test_a_counter_case_has_no_declaration(regions, family, make_user):
    from doudi.intake import services as intake

    officer = make_user("officer_t", regions.a_t, "township_officer")
    case = intake.open_case(
        by=officer,
        case_type="dibao",
        channel="walk_in",
        region=regions.a_v,
        summary="窗口",
        applicant=family[1][0],
    )
    assert declared_figures(case) is None


def test_registry_figures_only_of_people_the_officer_may_see(client, regions, application, family, make_user):
    home, people = family
    Person.objects.filter(pk=people[1].pk).update(region=regions.b_v)  # the spouse is registered elsewhere
    Membership.objects.filter(person=people[1]).delete()
    case = _apply(client, application, people)
    officer = make_user("officer_t", regions.a_t, "township_officer")
    figures = declared_figures(case, officer)
    assert [(r.name, r.registry_fen) for r in figures.rows] == [("张伟", 120_000), ("李娜", None)]
