"""Exceptions that every face (console, API) maps the same way.

`Conflict` is raised by a service when two actions race on one object and the loser must be told so
(DESIGN.md: "one wins, the other gets a clear conflict"); the API answers it with HTTP 409 and the
console shows its message. Validation problems stay `django.core.exceptions.ValidationError`,
refusals stay `PermissionDenied`, out-of-scope objects stay `Http404`.
"""

from __future__ import annotations

from django.utils.translation import gettext


class Conflict(Exception):
    """冲突: the object changed under the caller (someone else acted first); retry after reloading.

    `errors` uses the API's error shape: a list of {"path", "message"}; `path` names the field or
    object the conflict is about ("" for the whole request).
    """

    def __init__(self, message: str = "", *, path: str = "", errors: list[dict[str, str]] | None = None):
        self.message = message or gettext("该记录已被其他操作修改，请刷新后重试。")
        self.errors = errors if errors is not None else [{"path": path, "message": self.message}]
        super().__init__(self.message)
