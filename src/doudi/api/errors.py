"""One error shape for every API failure: `{"errors": [{"path": "...", "message": "..."}]}`.

It is the shape of the evaluation contract (POLICY.md §4), so a client handles a bad evaluation
input, a bad parameter value, a refusal and a conflict the same way. `path` names the field in
the request (`households[0].members[1].birth_date`, `effective_from`), "" for the request as a whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from doudi.core.errors import Conflict

logger = logging.getLogger("doudi.api")


class ErrorItem(Schema):
    path: str
    message: str


class ErrorsOut(Schema):
    """Every 4xx answer of the API."""

    errors: list[ErrorItem]


# The statuses every operation may answer with an error body; added to each operation's responses.
ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 422, 429)


class BodyTooDeep(ValueError):
    """A JSON body nested deeper than any request of the API needs."""


def format_loc(parts: Iterable[Any]) -> str:
    """("households", 0, "members", 1, "birth_date") → "households[0].members[1].birth_date"."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def errors_from_ninja(exc: NinjaValidationError) -> list[dict[str, str]]:
    """Pydantic's locations start with the source ("body", "query", "path") and, for a body, the
    handler's parameter name; the client knows neither, so both are dropped."""
    errors = []
    for err in exc.errors:
        loc = list(err.get("loc") or ())
        if loc and loc[0] == "body":
            loc = loc[2:]
        elif loc and loc[0] in {"query", "path", "header", "cookie", "form", "file"}:
            loc = loc[1:]
        errors.append({"path": format_loc(loc), "message": str(err.get("msg", ""))})
    return errors


def errors_from_django(exc: DjangoValidationError) -> list[dict[str, str]]:
    if hasattr(exc, "error_dict"):
        return [
            {"path": "" if field == NON_FIELD_ERRORS else field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return [{"path": "", "message": message} for message in exc.messages]


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, errors: Sequence[dict[str, str]]
) -> HttpResponse:
    return api.create_response(request, {"errors": list(errors)}, status=status)


def install_exception_handlers(api: NinjaAPI) -> None:
    """Map every expected failure to a 4xx in the one shape; an unexpected exception stays a 500
    (and is logged by Django) because hiding a bug behind a 4xx would mislead the client."""

    @api.exception_handler(NinjaValidationError)
    def _validation(request, exc):
        return error_response(api, request, 422, errors_from_ninja(exc))

    @api.exception_handler(DjangoValidationError)
    def _django_validation(request, exc):
        return error_response(api, request, 422, errors_from_django(exc))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        message = str(exc) or _("您没有执行此操作的权限。")
        return error_response(api, request, 403, [{"path": "", "message": message}])

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        # Out of scope and missing look the same (DESIGN.md): never echo what was looked for.
        return error_response(api, request, 404, [{"path": "", "message": _("未找到。")}])

    @api.exception_handler(Conflict)
    def _conflict(request, exc):
        return error_response(api, request, 409, exc.errors)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        response = error_response(
            api, request, 401, [{"path": "", "message": _("需要登录或有效的接口令牌。")}]
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    @api.exception_handler(Throttled)
    def _throttled(request, exc):
        return error_response(api, request, 429, [{"path": "", "message": _("请求过于频繁，请稍后再试。")}])

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request, exc):
        return body_too_big(api, request)

    @api.exception_handler(HttpError)
    def _http_error(request, exc):
        # ninja wraps whatever stopped it reading the body in a 400; the cause says what it was.
        if isinstance(exc.__cause__, RequestDataTooBig):
            return body_too_big(api, request)
        if isinstance(exc.__cause__, BodyTooDeep):
            from doudi.policy.contract import MAX_DEPTH

            message = _("请求体的嵌套超过 %(n)s 层。") % {"n": MAX_DEPTH}
            return error_response(api, request, 422, [{"path": "", "message": message}])
        if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
            # ninja's 400 for a body that is not JSON: answered like the evaluation contract does
            # for malformed JSON (422, the same error shape).
            return error_response(api, request, 422, [{"path": "", "message": _("请求体不是有效的 JSON。")}])
        return error_response(api, request, exc.status_code, [{"path": "", "message": str(exc)}])


def body_too_big(api: NinjaAPI, request: HttpRequest) -> HttpResponse:
    """413 in the API's shape, where Django would answer its own HTML 400 page."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = _("请求体超过 %(mb)s MB 的上限。") % {"mb": f"{limit / (1024 * 1024):g}"}
    return error_response(api, request, 413, [{"path": "", "message": message}])
