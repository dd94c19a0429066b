"""The cases API: scope (404), roles (403), conflicts (409), field errors (422)."""

import pytest

from doudi.intake import services
from doudi.intake.models import Case, CaseTransition


@pytest.fixture
def api(client):
    from doudi.api.services import create_api_token

    def call(user, method, path, body=None):
        _token, raw = create_api_token(user=user)
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def test_open_list_read_and_act(officers, regions, api):
    r = api(
        officers.a_township,
        "post",
        "/cases",
        {
            "case_type": "temporary",
            "subtype": "urgent",
            "channel": "hotline",
            "region": regions.a_v.code,
            "summary": "来电求助",
            "applicant_name": "李四明",
        },
    )
    assert r.status_code == 201, r.content
    case = r.json()
    assert case["state"] == "submitted" and case["tracking_number"].startswith("CQ500101-")
    assert [a["name"] for a in case["actions"]] == ["accept", "request_missing", "reject", "withdraw"]
    listed = api(officers.a_district, "get", "/cases").json()
    assert [c["tracking_number"] for c in listed] == [case["tracking_number"]]
    assert listed[0]["applicant_name"] == "李*明"  # masked in lists
    r = api(officers.a_township, "post", f"/cases/{case['id']}/actions/accept", {"version": case["version"]})
    assert r.status_code == 200 and r.json()["state"] == "accepted" and r.json()["sla"]["due_on"]


def test_api_errors(officers, regions, open_case, api):
    r = api(
        officers.a_township,
        "post",
        "/cases",
        {"case_type": "temporary", "channel": "walk_in", "region": regions.a_v.code, "summary": ""},
    )
    assert r.status_code == 422
    paths = {e["path"] for e in r.json()["errors"]}
    assert {"subtype", "summary", "applicant_name"} <= paths
    assert (
        api(
            officers.a_township,
            "post",
            "/cases",
            {"case_type": "x", "channel": "walk_in", "region": "nope", "summary": "s"},
        ).status_code
        == 422
    )

    b_case = open_case("temporary", by=officers.b_township, region=regions.b_v)
    assert api(officers.a_district, "get", f"/cases/{b_case.pk}").status_code == 404
    assert api(officers.a_district, "post", f"/cases/{b_case.pk}/actions/accept", {}).status_code == 404

    case = open_case("temporary")
    r = api(officers.a_village, "post", f"/cases/{case.pk}/actions/accept", {})
    assert r.status_code == 403
    r = api(officers.a_township, "post", f"/cases/{case.pk}/actions/approve", {})
    assert r.status_code == 403  # approvers only
    r = api(officers.a_township, "post", f"/cases/{case.pk}/actions/close", {"reason": "x"})
    assert r.status_code == 409  # wrong state for the role that may close
    r = api(officers.a_township, "post", f"/cases/{case.pk}/actions/fly", {})
    assert r.status_code == 422
    r = api(officers.a_township, "post", f"/cases/{case.pk}/actions/reject", {"reason": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "reason"


def test_two_approvals_one_wins_409(officers, open_case, api):
    case = services.perform_action(case=open_case("temporary"), action="accept", by=officers.a_township)
    approval = {"version": case.version, "data": {"amount": 800}}  # the temporary flow approves an amount
    first = api(officers.a_approver, "post", f"/cases/{case.pk}/actions/approve", approval)
    second = api(officers.a_approver2, "post", f"/cases/{case.pk}/actions/approve", approval)
    assert (first.status_code, second.status_code) == (200, 409)
    assert second.json()["errors"][0]["path"] == "version"
    assert CaseTransition.objects.filter(case=case, action="approve").count() == 1
    assert Case.objects.get(pk=case.pk).state == "approved"
