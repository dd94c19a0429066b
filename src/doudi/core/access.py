"""Who may use the staff pages: an active, signed-in user bound to a region node.

Every app with staff pages (registry, intake, verification, parameters, regions, portal's outbox …)
guards its views with `console_user_required`; it lives in core so that domain apps need not import
the console face. The 403 page is the staff shell's template, found by name like any other.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

FORBIDDEN_TEMPLATE = "console/forbidden.html"


def forbidden(request: HttpRequest) -> HttpResponse:
    """403 in the staff shell: signed in, but not allowed to use this page."""
    return render(request, FORBIDDEN_TEMPLATE, status=403)


def console_user_required(view):
    """Anonymous → the login page; signed in but bound to no region → 403 (they can see nothing)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user.is_active or getattr(user, "region_id", None) is None:
            return forbidden(request)
        return view(request, *args, **kwargs)

    return wrapper
