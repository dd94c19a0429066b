"""The REST API (接口), django-ninja under /api/v1; OpenAPI at /api/v1/openapi.json, docs at /api/docs.

Each domain has its own router module in `doudi.api.routers`; every module there that defines
`router` is mounted (at its optional `PREFIX`, default "/"), so a new domain adds a file and touches
nothing else.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.parser import Parser
from ninja.renderers import JSONRenderer

from doudi.api import openapi, routers
from doudi.api.errors import BodyTooDeep, install_exception_handlers
from doudi.policy.contract import MAX_DEPTH, nesting_depth


class DecimalParser(Parser):
    """JSON numbers with a fraction become Decimal, never binary floats (money stays exact).

    A body nested deeper than the evaluation contract allows (MAX_DEPTH) is refused the same way.
    Text with an unpaired surrogate (a `\\ud800` escape alone) is valid JSON but not Unicode: no database
    can store it, so the body is refused here like malformed JSON rather than failing at the save.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body, parse_float=Decimal)
        if nesting_depth(data) > MAX_DEPTH:
            raise BodyTooDeep  # before the recursive walk below, which it would overflow
        _check_text(data)
        return data


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # UnicodeEncodeError (a ValueError) on an unpaired surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}  # Chinese messages readable as they are


class DoudiAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {}).update(openapi.components())
        return schema


api = DoudiAPI(
    title="兜底 doudi API",
    version="1",
    description=(
        'Social-assistance platform API. Errors are always `{"errors": [{"path", "message"}]}`. '
        "Staff endpoints take a console session (with CSRF) or `Authorization: Bearer <token>` "
        "(`doudi api_token create --user U`). See docs/api.md."
    ),
    urls_namespace="api",
    docs_url=None,  # served at /api/docs by doudi.api.urls
    parser=DecimalParser(),
    renderer=Renderer(),
)
install_exception_handlers(api)


def _mount_routers() -> None:
    for info in sorted(pkgutil.iter_modules(routers.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{routers.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            api.add_router(getattr(module, "PREFIX", "/"), router)


_mount_routers()
