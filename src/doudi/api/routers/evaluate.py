"""POST /api/v1/evaluate — the evaluation contract of POLICY.md §4, the same JSON as `doudi evaluate`.

Public: the calculation reads no stored personal data (the caller sends the household), so anyone
may use it as a calculator; anonymous callers are rate limited per IP address (`DOUDI_API_ANON_RATE`,
default 60/minute), callers with a token or a console session are not. The stored parameter values
overlay the YAML defaults exactly as for `doudi evaluate` without `--defaults-only`; the overlaid
set is cached and rebuilt only when a stored value changes.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from ninja import Router

from doudi.api.auth import PUBLIC_AUTH, AnonymousRateThrottle
from doudi.api.errors import ErrorsOut
from doudi.api.openapi import register_schema
from doudi.parameters.selectors import current_parameters
from doudi.policy.rules.dibao import DECISIONS, INCOME_PERIODS, MEMBERSHIP

router = Router(tags=["evaluate"])

_NUMBER = {"type": "number"}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_STRING = {"type": "string"}


def _output_schema() -> dict:
    """The §4 output, documented for clients and checked by the schemathesis tests."""
    obj = lambda props, required=None: {  # noqa: E731 - a local shorthand keeps the schema readable
        "type": "object",
        "properties": props,
        "required": list(required if required is not None else props),
    }
    parameter_used = obj(
        {
            "name": _STRING,
            "value": {"type": ["number", "string", "null"]},
            "since": {"type": ["string", "null"]},
            "reference": _STRING,
            "verified": {"type": "boolean"},
        }
    )
    arithmetic_line = obj(
        {
            "expression": _STRING,
            "operands": {"type": "array", "items": obj({"name": _STRING, "value": _NUMBER})},
            "result": {"type": ["number", "boolean"]},
            "text": _STRING,
        }
    )
    step = obj(
        {
            "rule": _STRING,
            "clause": {"type": ["string", "null"]},
            "member": {"type": ["string", "integer"]},
            "value": {},
            "parameters": {"type": "array", "items": parameter_used},
            # additive (docs/policy.md): the regulation articles beside the clause, and the arithmetic
            "articles": {
                "type": "array",
                "items": obj({"instrument": _STRING, "article": {"type": ["integer", "null"]}}),
            },
            "arithmetic": {"type": "array", "items": arithmetic_line},
        },
        ["rule", "value"],
    )
    member = obj(
        {
            "id": {"type": ["string", "integer"]},
            # additive (条例第11条): whether the member counted in the household, and why
            "membership": obj(
                {
                    "counted": {"type": "boolean"},
                    "reason": {"enum": list(MEMBERSHIP)},
                    "separate_household": {"enum": ["severe_disability", "bedridden_illness", None]},
                }
            ),
            "tekun": obj({"amount": _NUMBER}),
            "child_allowance": obj(
                {
                    "amount": _NUMBER,
                    "kind": {"type": ["string", "null"]},
                    "age_out_deferred": {"type": "boolean"},
                }
            ),
            "price_subsidy": obj(
                {
                    "amount": _NULLABLE_NUMBER,
                    "basis": _NULLABLE_NUMBER,
                    "index": {"enum": ["cpi", "food", None]},
                    "rise": _NULLABLE_NUMBER,
                    "multiplier": _NULLABLE_NUMBER,
                },
                ["amount"],
            ),
            "covid_assistance": obj(
                {"amount": _NUMBER, "episode_months": {"type": "integer"}, "episode_total": _NUMBER}
            ),
        }
    )
    dibao = obj(
        {
            "standard": _NUMBER,
            "size": {"type": "integer"},
            "work_cost_deduction": _NUMBER,
            "counted_income": _NUMBER,
            "per_capita_income": _NULLABLE_NUMBER,
            "income_test": {"type": "boolean"},
            "asset_test": {"type": "boolean"},
            "eligible": {"type": "boolean"},
            "enrolled": {"type": "boolean"},
            "computed_amount": _NUMBER,
            "decision": {"enum": list(DECISIONS)},
            "amount": _NUMBER,
            # additive (条例第12–13条): the income period, a farming household's monthly income, the
            # asset items one by one and each limit of the asset test
            "income_period": obj(
                {
                    "kind": {"enum": list(INCOME_PERIODS)},
                    "from": _STRING,
                    "to": _STRING,
                    "months": {"type": "integer"},
                }
            ),
            "farming_income": _NUMBER,
            "asset_items": {
                "type": "array",
                "items": obj(
                    {"item": _STRING, "value": _NUMBER, "excepted": {"type": "boolean"}}, ["item", "value"]
                ),
            },
            "asset_limits": {
                "type": "array",
                "items": obj(
                    {
                        "test": _STRING,
                        "items": {"type": "array", "items": _STRING},
                        "value": _NUMBER,
                        "limit": _NUMBER,
                        "passes": {"type": "boolean"},
                    }
                ),
            },
        },
        ["decision", "amount"],
    )
    household = obj(
        {
            "id": {"type": ["string", "integer"]},
            "total": _NUMBER,
            "dibao": dibao,
            "bereavement": obj({"amount": _NULLABLE_NUMBER, "needs_district_standard": {"type": "boolean"}}),
            "members": {"type": "array", "items": member},
            "explanation": {"type": "array", "items": step},
        }
    )
    return obj(
        {
            "period": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
            "in_emergency_window": {"type": "boolean"},
            "warnings": {
                "type": "array",
                "items": obj({"parameter": _STRING, "message": _STRING}, ["message"]),
            },
            "households": {"type": "array", "items": household},
        }
    )


def _contract():
    # Imported on first use: the policy package loads numpy and the rules, which the rest of the
    # API (and every management command that checks URLs) does not need at start-up.
    from doudi.policy import contract

    return contract


_INPUT_REF = register_schema("EvaluationInput", lambda: _contract().input_json_schema())
_OUTPUT_REF = register_schema("EvaluationOutput", _output_schema)


def render(document: dict) -> bytes:
    """The response body: the very bytes `doudi evaluate` prints (tests/api compare them)."""
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


@router.post(
    "/evaluate",
    auth=PUBLIC_AUTH,
    throttle=[AnonymousRateThrottle()],
    response={frozenset({401, 422, 429}): ErrorsOut},
    summary="Evaluate households by the policy rules (POLICY.md §4)",
    openapi_extra={
        "security": [{}],  # anonymous allowed, next to the bearer token and the session
        "requestBody": {"required": True, "content": {"application/json": {"schema": _INPUT_REF}}},
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": _OUTPUT_REF}}}},
    },
)
def evaluate(request):
    """The body is handed to the policy contract unparsed, so the API reports exactly the CLI's
    errors (every problem at once, nothing evaluated) and returns exactly the CLI's JSON."""
    contract = _contract()
    try:
        result = contract.evaluate_request(request.body, base_params=current_parameters())
    except contract.InputError as exc:
        return HttpResponse(render(exc.as_json()), status=422, content_type="application/json")
    return HttpResponse(render(result), content_type="application/json")
