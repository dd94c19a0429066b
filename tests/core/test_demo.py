"""`doudi demo`: the Chongqing demo with one login per role, idempotent, `--if-empty` a no-op."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

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
