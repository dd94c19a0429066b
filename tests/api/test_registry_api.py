"""Registry reads over the API: scoped to the caller's region (404 outside), masked, logged."""

from datetime import date

import pytest

from doudi.audit.models import AuditEntry
from doudi.registry.models import Household, Membership, Person

ID_A = "500101198001011234"
ID_B = "500102199002023456"


@pytest.fixture
def households(regions):
    def make(village, id_number, name):
        household = Household.objects.create(region=village, area_type="urban", deposits_fen=100_00)
        person = Person.objects.create(
            id_number=id_number,
            name=name,
            birth_date=date(1980, 1, 1),
            sex="M",
            phone="13812345678",
            region=village,
        )
        Membership.objects.create(
            household=household, person=person, relation="head", joined_on=date(2019, 1, 1)
        )
        return household, person

    return {"a": make(regions.a_v, ID_A, "张三明"), "b": make(regions.b_v, ID_B, "李四")}


def test_person_lookup_is_masked_scoped_and_logged(client, officer, households):
    client.force_login(officer)
    found = client.get(f"/api/v1/persons?id_number={ID_A}").json()
    household, person = households["a"]
    assert found == [
        {
            "id": person.pk,
            "id_number": "500101********1234",
            "name": "张*明",
            "region": person.region_id,
            "household_id": household.pk,
        }
    ]
    assert (
        AuditEntry.objects.filter(
            action="read", object_type="registry.person", object_id=str(person.pk), actor=officer
        ).count()
        == 1
    )
    # district B's person is outside district A's officer's scope: nothing, and nothing logged
    assert client.get(f"/api/v1/persons?id_number={ID_B}").json() == []
    assert not AuditEntry.objects.filter(action="read", object_id=str(households["b"][1].pk)).exists()


def test_person_lookup_needs_an_id_number(client, officer, households):
    client.force_login(officer)
    response = client.get("/api/v1/persons?id_number=张三")
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "id_number"
    assert client.get("/api/v1/persons").status_code == 422


def test_household_detail_is_scoped_masked_and_logged(client, officer, households):
    client.force_login(officer)
    household, person = households["a"]
    body = client.get(f"/api/v1/households/{household.pk}").json()
    member = body["members"][0]
    assert member["id_number"] == "500101********1234" and member["phone"] == "138****5678"
    assert body["deposits_fen"] == 10000 and body["region"] == household.region_id
    assert AuditEntry.objects.filter(
        action="read", object_type="registry.household", object_id=str(household.pk), actor=officer
    ).exists()
    other = households["b"][0]
    out_of_scope = client.get(f"/api/v1/households/{other.pk}")
    missing = client.get("/api/v1/households/999999")
    assert out_of_scope.status_code == missing.status_code == 404
    assert out_of_scope.json() == missing.json()  # indistinguishable
    assert client.get("/api/v1/households/99999999999999999999999").status_code == 422
