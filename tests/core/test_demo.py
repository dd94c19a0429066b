"""`doudi demo`: the Chongqing demo with one login per role, idempotent, `--if-empty` a no-op."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from doudi.accounts.models import User
from doudi.accounts.roles import ROLE_LEVEL, Role
from doudi.audit.models import AuditEntry
from doudi.core.management.commands.demo import DEMO_PASSWORD, demo_villages
from doudi.regions.models import EmergencyWindow, Region
from doudi.registry.models import Household, Person, PersonCategory


def run(**options):
    out = io.StringIO()
    call_command("demo", stdout=out, **options)
    return out.getvalue()


def state():
    return (
        Region.objects.count(),
        EmergencyWindow.objects.count(),
        Household.objects.count(),
        Person.objects.count(),
        PersonCategory.objects.count(),
        User.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def demo(db):
    return run(households=120)


def test_demo_creates_one_user_per_role_in_a_fitting_region(demo):
    users = User.objects.filter(username__startswith="demo_")
    assert users.count() == len(Role)
    village = demo_villages()[0]
    for role in Role:
        user = users.get(username=f"demo_{role.value}")
        assert user.roles == {role.value}
        assert user.region.level == ROLE_LEVEL[role]
        assert village.path.startswith(user.region.path)  # all on the path of one demo village
        assert str(role.label) in demo and user.username in demo
    assert DEMO_PASSWORD in demo


def test_demo_population_lives_only_in_the_demo_villages(demo):
    codes = {v.code for v in demo_villages()}
    assert Household.objects.count() == 120
    assert set(Household.objects.values_list("region_id", flat=True)) <= codes
    assert set(Person.objects.values_list("region_id", flat=True)) <= codes
    window = EmergencyWindow.objects.get(scope="city")
    assert str(window.start) == "2020-01-24" and window.end is None


def test_every_demo_login_works(demo, client, rf):
    for role in Role:
        username = f"demo_{role.value}"
        # django-axes wants the request the credentials came with.
        assert client.login(request=rf.post("/"), username=username, password=DEMO_PASSWORD), username
        assert client.session["_auth_user_id"] == str(User.objects.get(username=username).pk)
        client.logout()
    response = client.post(
        reverse("console:login"), {"username": "demo_village_worker", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_if_empty_is_a_no_op_the_second_time(demo):
    before = state()
    out = run(if_empty=True, households=120)
    assert state() == before
    assert "demo_village_worker" in out and DEMO_PASSWORD in out


def test_running_the_demo_again_adds_nothing(demo):
    before = state()
    out = run(households=120)
    assert state() == before
    assert "demo_auditor" in out
    run(households=50)  # another size: the demo villages are already populated
    assert state() == before


def test_a_newcomer_finds_a_lived_in_system(demo, client):
    """Issue 9 (20): the dibao households are enrolled through their approvals, cases wait in every
    state of the dibao flow, a 公示 has finished and another is running — all made by the services."""
    from doudi.benefits.models import Enrolment
    from doudi.disclosure.models import Publication
    from doudi.intake.models import Case, CaseTransition
    from doudi.intake.workflows.dibao import DIBAO_FLOW

    flagged = Household.objects.filter(dibao_enrolled=True)
    assert flagged.exists()
    enrolled = Enrolment.objects.filter(scheme="dibao", status="active")
    assert set(enrolled.values_list("household_id", flat=True)) == set(flagged.values_list("pk", flat=True))
    # Each enrolment comes from an approved case with its whole ledger, not from a raw insert.
    approval = enrolled.first().decision_case
    assert approval.state == "approved"
    assert {"accept", "economic_data", "evaluate", "township_review", "end_publicity", "approve"} <= set(
        CaseTransition.objects.filter(case=approval).values_list("action", flat=True)
    )
    states = set(Case.objects.filter(case_type="dibao").values_list("state", flat=True))
    # township_reviewed is left at once by the township's agreement: no case can rest there.
    assert set(DIBAO_FLOW.states) - {"township_reviewed"} <= states, set(DIBAO_FLOW.states) - states
    assert (
        Case.objects.filter(case_type="tekun").exists()
        and Case.objects.filter(case_type="temporary").exists()
    )
    assert Enrolment.objects.filter(scheme="tekun").exists()
    today = timezone.localdate()
    assert Publication.objects.filter(end_date__lt=today, withdrawn_at__isnull=True).exists()
    assert Publication.objects.filter(
        start_date__lte=today, end_date__gte=today, withdrawn_at__isnull=True
    ).exists()

    # The public pages and the roster are not empty; the demo township officer has work waiting.
    recipients = client.get(reverse("disclosure:recipients")).content.decode()
    assert "暂无记录" not in recipients and recipients.count("<tr><td>") >= 1
    client.force_login(User.objects.get(username="demo_township_officer"))
    assert 'data-testid="enrolment-row"' in client.get(reverse("benefits:list")).content.decode()
    queue = client.get(reverse("intake:list")).content.decode()
    assert queue.count('data-testid="case-row"') >= 5
    # The history was written as it happened: the audit chain holds.
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)
    assert "intact" in out.getvalue()
