"""Signing in and the signed-in user of each request.

`StaffBackend` is Django's ModelBackend (password check, `is_active`) whose per-request `get_user`
loads the user with their region and its two parents in one query: every console page shows the
user's unit and its trail (区县 / 乡镇 / 村) and scopes each read by the region's path, and those were
three more queries per page. Roles (groups) are still read once per request, never kept in the
session, so that a role taken away counts from the next request.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class StaffBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        user = model._default_manager.select_related("region__parent__parent").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
