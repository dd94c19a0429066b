"""Small builders for §4 requests in tests."""

from __future__ import annotations

from typing import Any


def member(id: str, **fields: Any) -> dict[str, Any]:
    return {"id": id, **fields}


def household(
    id: str, *members: dict[str, Any], region: str = "500101", area_type: str = "urban", **fields: Any
):
    return {"id": id, "region": region, "area_type": area_type, "members": list(members), **fields}


def request(period: str, *households: dict[str, Any], **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"period": period, "households": list(households)}
    if parameters:
        body["parameters"] = parameters
    return body
