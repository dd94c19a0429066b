"""Extra JSON Schemas in the OpenAPI document, for bodies the API does not parse with pydantic.

The evaluation endpoint hands the raw body to `doudi.policy.contract` (so that the API and the CLI
report exactly the same errors), so its request and response schemas are plain JSON Schemas. They
are hoisted into `components/schemas` here, their internal `$defs` references rewritten, so the
OpenAPI document stays valid and clients (and schemathesis) can resolve them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

_registered: dict[str, Callable[[], dict[str, Any]]] = {}


def register_schema(name: str, factory: Callable[[], dict[str, Any]]) -> dict[str, str]:
    """Declare a component built lazily by `factory`; returns the `$ref` to use in an operation."""
    _registered[name] = factory
    return {"$ref": f"#/components/schemas/{name}"}


def _rewrite_refs(node: Any, defs_prefix: str) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = "#/components/schemas/" + defs_prefix + value.removeprefix("#/$defs/")
            elif key == "$ref" and value == "#":
                out[key] = "#/components/schemas/" + defs_prefix.rstrip("_")
            else:
                out[key] = _rewrite_refs(value, defs_prefix)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, defs_prefix) for v in node]
    return node


def components() -> dict[str, dict[str, Any]]:
    """All registered schemas, with their `$defs` as sibling components named `<name>_<def>`."""
    out: dict[str, dict[str, Any]] = {}
    for name, factory in _registered.items():
        schema = copy.deepcopy(factory())
        defs = schema.pop("$defs", {}) or schema.pop("definitions", {})
        schema.pop("$schema", None)
        schema.pop("$id", None)
        prefix = f"{name}_"
        for def_name, def_schema in defs.items():
            out[prefix + def_name] = _rewrite_refs(def_schema, prefix)
        out[name] = _rewrite_refs(schema, prefix)
    return out
