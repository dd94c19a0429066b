"""限流: fixed-window counters in Django's cache on the public endpoints (apply, code request, status).

Each endpoint counts per client IP and per identity (ID number, phone, tracking number) — hashed, so
the cache holds no personal data. Exceeding any limit answers 429 with a Chinese page. Limits can be
changed with DOUDI_PORTAL_RATE_LIMITS = {"apply": {"ip": (10, 3600)}, …}. With several server
processes, configure a shared cache (database or Redis): the default local-memory cache counts per
process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

# (requests, window in seconds)
DEFAULT_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "apply": {"ip": (10, 3600), "id": (5, 86400), "phone": (5, 86400)},
    "code": {"ip": (10, 3600), "id": (5, 3600), "tracking": (5, 3600)},
    "status": {"ip": (30, 3600), "id": (10, 3600), "tracking": (10, 3600)},
    "upload": {"ip": (30, 3600), "case": (20, 86400)},
}


class RateLimited(Exception):
    def __init__(self, scope: str, kind: str, retry_after: int):
        self.scope, self.kind, self.retry_after = scope, kind, retry_after
        super().__init__(f"{scope}/{kind}")


@dataclass(frozen=True)
class Rule:
    limit: int
    window: int


def rules(scope: str) -> dict[str, Rule]:
    configured = getattr(settings, "DOUDI_PORTAL_RATE_LIMITS", {}) or {}
    merged = {**DEFAULT_LIMITS.get(scope, {}), **configured.get(scope, {})}
    return {kind: Rule(int(limit), int(window)) for kind, (limit, window) in merged.items()}


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the header named by DOUDI_PORTAL_IP_HEADER when a trusted proxy sets it."""
    header = getattr(settings, "DOUDI_PORTAL_IP_HEADER", "")
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(scope: str, kind: str, value: str) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{value}".encode()).hexdigest()[:32]
    return f"doudi:portal:rl:{scope}:{kind}:{digest}"


def hit(scope: str, **values: str) -> None:
    """Count one request against every limit of `scope` whose value is given; RateLimited if any is
    exceeded (every counter is incremented first, so retrying does not reset any of them)."""
    exceeded: RateLimited | None = None
    for kind, rule in rules(scope).items():
        value = (values.get(kind) or "").strip().upper()
        if not value:
            continue
        key = _key(scope, kind, value)
        cache.add(key, 0, timeout=rule.window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=rule.window)
            count = 1
        if count > rule.limit and exceeded is None:
            exceeded = RateLimited(scope, kind, rule.window)
    if exceeded is not None:
        raise exceeded
