"""Issuing, revoking and checking API tokens (接口令牌)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.api.models import ApiToken
from doudi.audit.services import record

if TYPE_CHECKING:
    from doudi.accounts.models import User

TOKEN_PREFIX = "dd_"
# last_used_at is bookkeeping, not a business write: refresh it at most this often so a busy
# client does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def create_api_token(*, user: User, by: User | None = None, name: str = "") -> tuple[ApiToken, str]:
    """Issue a token for `user`; returns the row and the clear token, which is never stored."""
    if not user.is_active:
        raise ValidationError({"user": _("该用户已停用，不能签发令牌。")})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, created_by=by, name=name[:64], prefix=raw[:11], key_hash=hash_token(raw)
    )
    record(
        actor=by,
        action="create",
        obj=token,
        region_path=user.region.path if user.region else "",
        after={"user": user.username, "name": token.name, "prefix": token.prefix},
    )
    return token, raw


@transaction.atomic
def revoke_api_token(*, token: ApiToken, by: User | None = None, reason: str = "") -> ApiToken:
    """吊销: the token stops working at once; revoking twice changes nothing."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(
        actor=by,
        action="update",
        obj=token,
        region_path=token.user.region.path if token.user.region else "",
        before={"revoked": False},
        after={"revoked": True, "prefix": token.prefix},
        reason=reason,
    )
    return token


def user_for_token(raw: str) -> User | None:
    """The active user a clear token stands for, or None (unknown, revoked, or user disabled)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 128:
        return None
    token = (
        ApiToken.objects.select_related("user__region")
        .filter(key_hash=hash_token(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
