"""Authentication (session + CSRF, bearer tokens), the error shape, and the parameters endpoints."""

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.test import Client

from doudi.api.models import ApiToken
from doudi.api.services import revoke_api_token
from doudi.audit.models import AuditEntry
from doudi.parameters.models import ParameterValue

VALUE = {"effective_from": "2020-03-01", "value": 700, "reference": "渝民发〔2020〕1号", "reason": "调整标准"}


def add(client, name="dibao.standard.urban", body=None, **headers):
    return client.post(
        f"/api/v1/parameters/{name}/values",
        data=json.dumps(body or VALUE),
        content_type="application/json",
        **headers,
    )


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- tokens -----------------------------------------------------------------------------------------


def test_token_authenticates_and_revoked_token_is_refused(client, officer, token_for):
    token = token_for(officer)
    assert client.get("/api/v1/parameters", **bearer(token)).status_code == 200
    row = ApiToken.objects.get(user=officer)
    assert row.last_used_at is not None and row.key_hash != token and token.startswith(row.prefix)
    revoke_api_token(token=row, reason="系统下线")
    response = client.get("/api/v1/parameters", **bearer(token))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"errors": [{"path": "", "message": response.json()["errors"][0]["message"]}]}


def test_token_of_a_disabled_user_is_refused(client, officer, token_for):
    token = token_for(officer)
    officer.is_active = False
    officer.save()
    assert client.get("/api/v1/parameters", **bearer(token)).status_code == 401


def test_no_credentials_is_401(client, db):
    assert client.get("/api/v1/parameters").status_code == 401
    assert client.get("/api/v1/parameters", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz").status_code == 401


def test_api_token_command_prints_the_token_once(officer, capsys, client):
    call_command("api_token", "create", "--user", officer.username, "--name", "核对平台")
    token = capsys.readouterr().out.strip()
    assert token.startswith("dd_")
    assert client.get("/api/v1/parameters", **bearer(token)).status_code == 200
    call_command("api_token", "list")
    listing = capsys.readouterr().out
    assert token not in listing and token[:11] in listing and "active" in listing
    call_command("api_token", "revoke", token[:11])
    assert client.get("/api/v1/parameters", **bearer(token)).status_code == 401
    assert AuditEntry.objects.filter(object_type="api.apitoken").count() == 2  # created, revoked


def test_token_writes_need_no_csrf(admin, token_for):
    client = Client(enforce_csrf_checks=True)
    assert add(client, **bearer(token_for(admin))).status_code == 201


def test_session_writes_need_the_csrf_token(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.get("/api/v1/parameters").status_code == 200  # reads need none
    refused = add(client)
    assert refused.status_code == 403 and refused.json()["errors"][0]["message"]
    client.get("/console/parameters/")  # any console page sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    assert add(client, HTTP_X_CSRFTOKEN=csrf).status_code == 201


# --- parameters ---------------------------------------------------------------------------------------


def test_list_shows_every_parameter_with_current_value_and_history(client, officer):
    client.force_login(officer)
    body = client.get("/api/v1/parameters?on=2020-03-15").json()
    by_name = {p["name"]: p for p in body}
    urban = by_name["dibao.standard.urban"]
    assert urban["current"] == [
        {
            "region": "",
            "since": "2019-07-01",
            "value": 546,
            "verified": False,
            "reference": urban["current"][0]["reference"],
            "status": None,
        }
    ]
    assert urban["unverified"] is True
    assert [(h["since"], h["value"], h["source"], h["verified"]) for h in urban["history"]] == [
        ("2019-07-01", 546, "default", False),
        ("2021-09-01", 636, "default", True),
    ]
    assert by_name["covid.bereavement_assistance"]["current"] == []
    assert by_name["emergency.window.end"]["current"][0]["value"] is None
    assert (
        client.get("/api/v1/parameters/price_index.cpi_yoy?on=2020-03-01").json()["current"][0]["value"]
        == 4.3
    )
    assert client.get("/api/v1/parameters/no.such.parameter").status_code == 404


def test_only_the_municipal_admin_adds_values(client, officer, admin, regions, make_user):
    client.force_login(officer)
    assert add(client).status_code == 403
    supervisor = make_user("supervisor", regions.city, "municipal_supervisor")
    client.force_login(supervisor)
    assert add(client).status_code == 403
    client.logout()
    assert add(client).status_code == 401
    assert not ParameterValue.objects.exists()
    client.force_login(admin)
    assert add(client, name="no.such.parameter").status_code == 404
    created = add(client)
    assert created.status_code == 201
    row = created.json()
    assert row["source"] == "stored" and row["value"] == 700 and row["reason"] == "调整标准"
    assert row["created_by"] == str(admin) and row["in_effect"] and row["revision"] == 1
    stored = ParameterValue.objects.get()
    entry = AuditEntry.objects.get(object_type="parameters.parametervalue", object_id=str(stored.pk))
    assert entry.actor == admin and entry.reason == "调整标准"


def test_history_shows_sources_and_verified_flags(client, admin):
    client.force_login(admin)
    add(client, body={**VALUE, "verified": True})
    history = client.get("/api/v1/parameters/dibao.standard.urban").json()["history"]
    assert [(h["since"], h["source"], h["verified"], h["reference"]) for h in history][:2] == [
        ("2019-07-01", "default", False, history[0]["reference"]),
        ("2020-03-01", "stored", True, "渝民发〔2020〕1号"),
    ]


def test_bad_values_are_422_with_field_paths(client, admin):
    client.force_login(admin)
    cases = [
        ({**VALUE, "value": "much"}, "value"),
        ({**VALUE, "value": 700.125}, "value"),
        ({**VALUE, "effective_from": "2020-02-30"}, "effective_from"),
        ({**VALUE, "reference": ""}, "reference"),
        ({k: v for k, v in VALUE.items() if k != "reason"}, "reason"),
        ({**VALUE, "region": "500101"}, "region"),
    ]
    for body, path in cases:
        response = add(client, body=body)
        assert response.status_code == 422, body
        assert path in [e["path"] for e in response.json()["errors"]], response.json()
    response = add(client, name="covid.bereavement_assistance", body={**VALUE, "value": 5000})
    assert response.status_code == 422 and response.json()["errors"][0]["path"] == "region"
    assert (
        add(
            client, name="covid.bereavement_assistance", body={**VALUE, "value": 5000, "region": "500101"}
        ).status_code
        == 201
    )


def test_malformed_json_body_is_a_4xx_with_errors(client, admin):
    client.force_login(admin)
    response = client.post(
        "/api/v1/parameters/dibao.standard.urban/values", data="{not json", content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"]


def test_concurrent_correction_is_a_409(client, admin):
    client.force_login(admin)
    first = add(client).json()
    again = add(client, body={**VALUE, "value": 710})
    assert again.status_code == 409
    assert again.json()["errors"][0]["path"] == "supersedes"
    corrected = add(client, body={**VALUE, "value": 710, "supersedes": first["id"]})
    assert corrected.status_code == 201 and corrected.json()["revision"] == 2
    # a second correction based on the same (now stale) value loses
    stale = add(client, body={**VALUE, "value": 720, "supersedes": first["id"]})
    assert stale.status_code == 409
    assert (
        client.get("/api/v1/parameters/dibao.standard.urban?on=2020-03-01").json()["current"][0]["value"]
        == 710
    )


def test_conflict_exception_maps_to_409(rf):
    from doudi.api.api import api
    from doudi.core.errors import Conflict

    response = api.on_exception(rf.get("/"), Conflict("已被他人处理", path="state"))
    assert response.status_code == 409
    assert json.loads(response.content) == {"errors": [{"path": "state", "message": "已被他人处理"}]}


def test_docs_and_schema_are_served(client, db):
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/v1/evaluate", "/api/v1/parameters", "/api/v1/parameters/{name}/values"} <= set(paths)
    assert "EvaluationInput" in schema.json()["components"]["schemas"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"/api/v1/openapi.json" in docs.content


@pytest.mark.parametrize("value", [date(2020, 6, 30).isoformat(), None])
def test_window_end_takes_a_date_or_null(client, admin, value):
    client.force_login(admin)
    response = add(
        client, name="emergency.window.end", body={**VALUE, "effective_from": "2020-07-01", "value": value}
    )
    assert response.status_code == 201
    assert response.json()["value"] == value


def test_unpaired_surrogates_are_refused_not_stored(client, admin):
    client.force_login(admin)
    body = '{"effective_from": "2020-03-01", "value": 700, "reference": "\\udbe6", "reason": "x"}'
    response = client.post(
        "/api/v1/parameters/dibao.standard.urban/values", data=body, content_type="application/json"
    )
    assert response.status_code == 422
    assert not ParameterValue.objects.exists()
