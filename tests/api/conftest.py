import json
from pathlib import Path

import pytest

# POLICY.md §4's example request, verbatim.
CONTRACT_EXAMPLE = {
    "period": "2020-03",
    "parameters": {"emergency.window.end": "2020-06-30", "covid.bereavement_assistance.500101": 5000},
    "households": [
        {
            "id": "h1",
            "region": "500101",
            "area_type": "urban",
            "dibao": {"enrolled": True, "last_amount": 900},
            "assets": {"deposits": 10000, "vehicles": 0, "houses": 1},
            "members": [
                {
                    "id": "p1",
                    "birth_date": "1975-04-02",
                    "income": {"wage": 1500},
                    "work": "migrant",
                    "categories": [],
                    "covid": {"confirmed_on": "2020-02-10", "discharged_on": "2020-03-11"},
                }
            ],
        }
    ],
}

# POLICY.md §5 example 1: urban household of three, not enrolled, 2020-03 → include 338, total 938.
HOUSEHOLD_OF_THREE = {
    "period": "2020-03",
    "households": [
        {
            "id": "h1",
            "region": "500101",
            "area_type": "urban",
            "members": [
                {"id": "a", "income": {"wage": 1000}},
                {"id": "b", "income": {"wage": 300}},
                {"id": "c"},
            ],
        }
    ],
}


@pytest.fixture
def contract_example():
    return json.loads(json.dumps(CONTRACT_EXAMPLE))


@pytest.fixture
def household_of_three():
    return json.loads(json.dumps(HOUSEHOLD_OF_THREE))


@pytest.fixture
def write_json(tmp_path):
    def write(document, name="request.json") -> Path:
        path = tmp_path / name
        path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
        return path

    return write


@pytest.fixture
def admin(regions, make_user):
    return make_user("muni_admin", regions.city, "municipal_admin")


@pytest.fixture
def officer(regions, make_user):
    return make_user("officer_a", regions.a, "district_officer")


@pytest.fixture
def token_for(db):
    from doudi.api.services import create_api_token

    def make(user, name="test"):
        return create_api_token(user=user, name=name)[1]

    return make


@pytest.fixture(autouse=True)
def _isolation(settings, db):  # db: on PostgreSQL the cache is a table
    """No rate limit between tests unless a test sets one; no parameter set cached across tests
    (row ids restart after a rolled-back test on SQLite)."""
    from django.core.cache import cache

    from doudi.parameters.selectors import invalidate_parameter_cache

    settings.DOUDI_API_ANON_RATE = "0"
    cache.clear()
    invalidate_parameter_cache()
    yield
    invalidate_parameter_cache()
