"""Hostile request bodies on every POST of /api/v1: a deeply nested array (800 bytes) and a body over
the size limit answer 422 / 413 in the API's one error shape, never a 500 or Django's HTML page;
`doudi evaluate` answers the same nesting with the same bytes and exit 2, not a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from doudi.policy.cli import main as cli_main

DOUDI = str(Path(sys.executable).with_name("doudi"))
NESTED = "[" * 400 + "]" * 400  # the 800 bytes of the issue
VERY_NESTED = "[" * 200_000 + "]" * 200_000  # deeper than the JSON decoder itself goes
NESTED_OBJECT = '{"period": ' + '{"a": ' * 300 + "1" + "}" * 300 + "}"
STAFF_POSTS = (
    "/api/v1/cases",
    "/api/v1/cases/1/actions/accept",
    "/api/v1/parameters/dibao.standard.urban/values",
)


def _errors(response):
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"errors"} and body["errors"], body
    assert all(set(e) == {"path", "message"} and e["message"] for e in body["errors"])
    return body["errors"]


@pytest.mark.parametrize("body", [NESTED, VERY_NESTED, NESTED_OBJECT], ids=["400", "200000", "object"])
def test_nested_json_to_evaluate_is_422_and_the_cli_says_the_same(client, db, tmp_path, capsys, body):
    response = client.post("/api/v1/evaluate", data=body, content_type="application/json")
    assert response.status_code == 422
    assert _errors(response) == [{"path": "", "message": "malformed JSON: nested deeper than 32 levels"}]
    path = tmp_path / "nested.json"
    path.write_text(body)
    capsys.readouterr()
    assert cli_main([str(path), "--defaults-only"]) == 2
    assert capsys.readouterr().out.encode() == response.content


def test_the_doudi_command_exits_2_without_a_traceback(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text(NESTED)
    run = subprocess.run([DOUDI, "evaluate", "--defaults-only", str(path)], capture_output=True, timeout=120)
    assert run.returncode == 2 and b"Traceback" not in run.stderr
    assert json.loads(run.stdout)["errors"][0]["message"] == "malformed JSON: nested deeper than 32 levels"


@pytest.mark.parametrize("url", STAFF_POSTS)
@pytest.mark.parametrize("body", [NESTED, VERY_NESTED], ids=["400", "200000"])
def test_nested_json_to_staff_endpoints_is_422(client, admin, token_for, url, body):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(admin)}"}
    response = client.post(url, data=body, content_type="application/json", **headers)
    assert response.status_code == 422
    assert _errors(response)[0]["path"] == ""


def test_a_body_over_the_limit_is_413_in_the_api_shape(
    client, admin, token_for, settings, household_of_three
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    big = json.dumps({**household_of_three, "padding": "x" * (1024 * 1024)})
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token_for(admin)}"}
    for url, extra in [("/api/v1/evaluate", {})] + [(u, headers) for u in STAFF_POSTS]:
        response = client.post(url, data=big, content_type="application/json", **extra)
        assert response.status_code == 413, url
        assert _errors(response) == [{"path": "", "message": "请求体超过 1 MB 的上限。"}]
    # The server is still answering.
    response = client.post(
        "/api/v1/evaluate", data=json.dumps(household_of_three), content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["households"][0]["total"] == 938
