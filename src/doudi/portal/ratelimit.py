"""限流: fixed-window counters in Django's cache on the public endpoints (apply, code request, status,
upload, self-check).

Each endpoint counts per client IP and per identity (ID number, phone, tracking number) — normalised
exactly as the lookups normalise them (a space in a tracking number or a dash in an ID number is the
same counter), then hashed, so the cache holds no personal data. An application counts only once it
is accepted (`check` before, `count` after): correcting a refused form costs nothing, and the address
is counted together with the applicant's identity (`ip_id`) as well as alone (`ip`, set higher), so
neighbours sharing a village office's connection do not lock each other out. Status checks and code
requests count every attempt (`hit`): those are what a guesser repeats.

Exceeding a limit answers 429 with a Chinese page. Limits can be changed with
DOUDI_PORTAL_RATE_LIMITS = {"apply": {"ip": (30, 3600)}, …}. The counters live in the cache shared by
every server process: the database cache on PostgreSQL (settings.DOUDI_CACHE).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from doudi.portal.services import clean_phone_or_blank, normalise_tracking
from doudi.registry import identity

# (requests, window in seconds)
DEFAULT_LIMITS: dict[str, dict[str, tuple[int, int]]] = {
    "apply": {"ip": (30, 3600), "ip_id": (5, 3600), "id": (5, 86400), "phone": (5, 86400)},
    "code": {"ip": (10, 3600), "id": (5, 3600), "tracking": (5, 3600)},
    "status": {"ip": (30, 3600), "id": (10, 3600), "tracking": (10, 3600)},
    "upload": {"ip": (30, 3600), "case": (20, 86400)},
    # 自助试算 and its hand-over to the application form: nothing personal to guess, so per IP only,
    # set for a village office where many neighbours try it on one connection.
    "selfcheck": {"ip": (120, 3600)},
    # 举报 (portal/whistle.py): filing counted once accepted, look-ups on every attempt.
    "whistle": {"ip": (10, 3600), "phone": (5, 86400)},
    "whistle_status": {"ip": (30, 3600), "tracking": (10, 3600)},
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


def _normalised(kind: str, raw: str) -> str:
    """The value as the lookups see it, so every spelling of one identity is one counter."""
    if kind == "id":
        return identity.normalise(raw)
    if kind == "tracking":
        return normalise_tracking(raw)
    if kind == "phone":
        return clean_phone_or_blank(raw) or identity.normalise(raw)
    return str(raw or "").strip().upper()


def _values(values: dict[str, str]) -> dict[str, str]:
    out = {kind: _normalised(kind, raw) for kind, raw in values.items()}
    if out.get("ip") and out.get("id"):
        out["ip_id"] = f"{out['ip']}|{out['id']}"
    return out


def _keys(scope: str, values: dict[str, str]) -> list[tuple[str, str, Rule]]:
    """(kind, cache key, rule) for every limit of `scope` whose value is given."""
    normalised = _values(values)
    out = []
    for kind, rule in rules(scope).items():
        value = normalised.get(kind, "")
        if value:
            digest = hashlib.sha256(f"{settings.SECRET_KEY}:{value}".encode()).hexdigest()[:32]
            out.append((kind, f"doudi:portal:rl:{scope}:{kind}:{digest}", rule))
    return out


def _increment(key: str, rule: Rule) -> int:
    cache.add(key, 0, timeout=rule.window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=rule.window)
        return 1


def check(scope: str, **values: str) -> None:
    """RateLimited if any limit of `scope` is already used up; counts nothing."""
    for kind, key, rule in _keys(scope, values):
        if (cache.get(key) or 0) >= rule.limit:
            raise RateLimited(scope, kind, rule.window)


def count(scope: str, **values: str) -> None:
    """Count one accepted request against every limit of `scope` whose value is given."""
    for _kind, key, rule in _keys(scope, values):
        _increment(key, rule)


def hit(scope: str, **values: str) -> None:
    """Count one request against every limit of `scope` whose value is given; RateLimited if any is
    exceeded (every counter is incremented first, so retrying does not reset any of them)."""
    exceeded: RateLimited | None = None
    for kind, key, rule in _keys(scope, values):
        if _increment(key, rule) > rule.limit and exceeded is None:
            exceeded = RateLimited(scope, kind, rule.window)
    if exceeded is not None:
        raise exceeded
