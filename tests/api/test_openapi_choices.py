"""The OpenAPI document tells a client the valid values: every choice field declares its `enum`
(taken from the model's TextChoices, the one source of truth) and codes declare their `pattern`."""

import pytest

from doudi.api.api import api
from doudi.intake import flows
from doudi.intake.models import CaseType, Channel
from doudi.policy.parameters import Kind, ValueType
from doudi.registry.models import AreaType, Category, Relation


@pytest.fixture(scope="module")
def document():
    return api.get_openapi_schema()


def _property(document, schema, name):
    return document["components"]["schemas"][schema]["properties"][name]


def _query(document, path, method, name):
    return next(p for p in document["paths"][path][method]["parameters"] if p["name"] == name)["schema"]


def test_case_schemas_declare_their_choices(document):
    assert _property(document, "OpenCaseIn", "case_type")["enum"] == CaseType.values
    assert _property(document, "OpenCaseIn", "channel")["enum"] == [
        c for c in Channel.values if c != "portal"
    ]
    assert _property(document, "OpenCaseIn", "region")["pattern"] == r"^[0-9]{6}([0-9]{3}){0,2}$"
    states = {s for f in flows.FLOWS.values() for s in f.states}
    for schema in ("CaseOut", "CaseListOut"):
        assert _property(document, schema, "case_type")["enum"] == CaseType.values
        assert _property(document, schema, "channel")["enum"] == Channel.values
        assert set(_property(document, schema, "state")["enum"]) == states
    assert _query(document, "/api/v1/cases", "get", "case_type")["enum"] == ["", *CaseType.values]
    assert _query(document, "/api/v1/cases", "get", "channel")["enum"] == ["", *Channel.values]
    assert set(_query(document, "/api/v1/cases", "get", "state")["enum"]) == {"", *states}


def test_action_fields_list_their_choices(document):
    assert "choices" in document["components"]["schemas"]["FieldOut"]["required"]
    assert _property(document, "FieldOut", "kind")["enum"] == [
        "text",
        "textarea",
        "lines",
        "date",
        "integer",
        "choice",
    ]
    kinds = {f.kind for flow in flows.FLOWS.values() for a in flow.actions for f in a.fields}
    assert kinds <= set(_property(document, "FieldOut", "kind")["enum"])


def test_registry_and_parameter_schemas_declare_their_choices(document):
    assert _property(document, "HouseholdOut", "area_type")["enum"] == AreaType.values
    assert _property(document, "MemberOut", "relation")["enum"] == Relation.values
    assert _property(document, "CategoryOut", "category")["enum"] == Category.values
    assert _property(document, "ParameterOut", "type")["enum"] == [v.value for v in ValueType]
    assert _property(document, "ParameterOut", "kind")["enum"] == [k.value for k in Kind]
    region = _property(document, "ParameterValueIn", "region")
    assert {"type": "string", "pattern": r"^[0-9]{6}$"} in region["anyOf"]
    name = _query(document, "/api/v1/parameters/{name}/values", "post", "name")
    assert name["pattern"] == r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"


@pytest.mark.django_db
def test_a_case_answer_lists_a_choice_fields_values(client, officer, token_for, regions):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(officer)}"}  # a district officer investigates
    body = {"case_type": "dibao", "channel": "walk_in", "region": regions.a_v.code, "summary": "申请低保",
            "applicant_name": "张三", "applicant_phone": "13800138000"}  # fmt: skip
    response = client.post("/api/v1/cases", data=body, content_type="application/json", **headers)
    assert response.status_code == 201, response.content
    refused = client.post("/api/v1/cases", data={**body, "channel": "portal"}, content_type="application/json",
                          **headers)  # fmt: skip
    assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == "channel"
    from doudi.intake.models import Case

    case_id = response.json()["id"]
    Case.objects.filter(pk=case_id).update(state="accepted")  # where 入户调查 asks how it was done
    actions = client.get(f"/api/v1/cases/{case_id}", **headers).json()["actions"]
    fields = {f["name"]: f for a in actions if a["name"] == "economic_data" for f in a["fields"]}
    assert [c["value"] for c in fields["method"]["choices"]] == ["visit", "phone", "video"]
    assert all(c["label"] for c in fields["method"]["choices"])
    assert all(f["choices"] == [] for f in fields.values() if f["kind"] != "choice")


@pytest.mark.django_db
def test_a_change_report_cannot_bypass_its_own_filing_through_the_generic_endpoint(
    client, officer, token_for, regions
):
    """家庭情况变化报告 needs the household's dibao and one open report at a time: the generic filing
    (API, services.open_case) refuses it, naming the field, and writes nothing."""
    from doudi.intake.models import Case

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(officer)}"}
    body = {"case_type": "change_report", "channel": "walk_in", "region": regions.a_v.code,
            "summary": "收入变化", "applicant_name": "张三"}  # fmt: skip
    refused = client.post("/api/v1/cases", data=body, content_type="application/json", **headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == "case_type"
    assert not Case.objects.filter(case_type="change_report").exists()
