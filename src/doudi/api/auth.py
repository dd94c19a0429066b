"""Who is calling: a staff session from the console (with CSRF) or a system with a bearer token.

Both resolve to a staff `User`, whose roles and region scope then apply exactly as in the console.
A request that presents a token that is unknown or revoked is refused (401) even on an endpoint
that also serves anonymous callers: a broken integration should fail loudly, not quietly fall back
to the anonymous rate limit.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.throttling import SimpleRateThrottle
from ninja.utils import check_csrf

from doudi.api.services import user_for_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class BearerToken(HttpBearer):
    """`Authorization: Bearer dd_…` — a token made with `doudi api_token create --user U`."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token.strip())
        if user is None:
            raise AuthenticationError()
        request.user = user  # handlers and selectors read the caller from one place
        return user


class Session(APIKeyCookie):
    """The console's Django session; unsafe methods must carry the CSRF token (X-CSRFToken)."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if self.csrf and request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise PermissionDenied(_("CSRF 校验失败：请刷新页面后重试。"))
        return user


class Anonymous:
    """Stands for a caller with no credentials on the few public endpoints (truthy for ninja)."""

    is_authenticated = False

    def __bool__(self) -> bool:
        return True

    def __str__(self) -> str:
        return "anonymous"


def allow_anonymous(request: HttpRequest) -> Anonymous:
    return Anonymous()


# Staff endpoints: a token or a console session.
STAFF_AUTH = [BearerToken(), Session()]
# Public endpoints that also serve staff and systems (who are then not rate limited as anonymous).
PUBLIC_AUTH = [BearerToken(), Session(csrf=False), allow_anonymous]
# OpenAPI for PUBLIC_AUTH: either scheme, or none at all.
PUBLIC_SECURITY = [{"BearerToken": []}, {"Session": []}, {}]


class AnonymousRateThrottle(SimpleRateThrottle):
    """Per-IP limit for callers with no credentials; authenticated callers are not limited here.

    The rate is read on every request (settings `DOUDI_API_ANON_RATE`, else the environment variable
    of the same name, default 60 per minute) so an operator or a test can change it without a
    restart. The count lives in Django's cache: the database cache on PostgreSQL, shared by every
    worker; memory on the embedded SQLite (one process). See settings.DOUDI_CACHE.
    """

    scope = "anon"

    def __init__(self, setting: str = "DOUDI_API_ANON_RATE", default: str = "60/m") -> None:
        self.setting = setting
        self.default = default
        self.rate = None

    def current_rate(self) -> str | None:
        rate = getattr(settings, self.setting, None)
        if rate is None:
            rate = os.environ.get(self.setting, self.default)
        return rate or None

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = self.current_rate()
        if self.rate is None or self.rate == "0":
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str | None:
        if getattr(getattr(request, "auth", None), "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
