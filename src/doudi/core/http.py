"""Small HTTP helpers shared by the console's views."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from doudi.core.errors import Conflict


def refusal_text(exc: Exception, denied: str = "") -> str:
    """What a service's refusal says: every message of a ValidationError, a Conflict's message, or a
    PermissionDenied's reason (`denied`, or a generic sentence, when it gives none)."""
    if isinstance(exc, Conflict):
        return exc.message
    if isinstance(exc, ValidationError):
        return "；".join(exc.messages)
    return str(exc) or denied or _("您没有执行此操作的权限。")


def flash_refusal(request: HttpRequest, exc: Exception, denied: str = "") -> None:
    """The refusal as a message on the next page: a warning when someone else acted first (Conflict),
    an error otherwise."""
    level = messages.WARNING if isinstance(exc, Conflict) else messages.ERROR
    messages.add_message(request, level, refusal_text(exc, denied))


def redirect_next(request: HttpRequest, default: str, *args) -> HttpResponseRedirect:
    """Back to the page a form came from (its `next` field) when that page is on this site, else to
    `default` (a URL or a URL name with `args`): a crafted `next` never sends an officer elsewhere."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(default, *args)
