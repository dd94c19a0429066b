"""长辈模式 (elder mode): larger type, tap targets of at least 44 px and stronger contrast on the public
pages, for older citizens. A preference kept in a cookie and switched by a plain link, so it works
without JavaScript on any phone; the styles are portal/static/portal/elder.css."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe

ELDER_COOKIE = "doudi_elder"
ELDER_COOKIE_AGE = 365 * 24 * 3600  # a year: an older citizen should not have to find the switch again


def elder_mode(request: HttpRequest) -> bool:
    return request.COOKIES.get(ELDER_COOKIE) == "1"


def display(request: HttpRequest) -> dict[str, bool]:
    """Context processor: `elder_mode` for base.html (the stylesheet and the body class) and the toggle.
    Public pages only: the staff console keeps its dense layout whatever the browser's cookie says."""
    return {"elder_mode": elder_mode(request) and not request.path.startswith(reverse("console:home"))}


@require_safe
def switch(request: HttpRequest) -> HttpResponse:
    """`?mode=elder` turns 长辈模式 on, `?mode=standard` off; back to `next` when it is on this site."""
    target = request.GET.get("next", "").strip()
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = redirect(target)
    mode = request.GET.get("mode")
    if mode == "elder":
        response.set_cookie(
            ELDER_COOKIE,
            "1",
            max_age=ELDER_COOKIE_AGE,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure(),
        )
    elif mode == "standard":
        response.delete_cookie(ELDER_COOKIE, samesite="Lax")
    return response
