"""Who may use the staff console: an active, signed-in user bound to a region node."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render


def console_user_required(view):
    """Anonymous → the login page; signed in but bound to no region → 403 (they can see nothing)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user.is_active or getattr(user, "region_id", None) is None:
            return render(request, "console/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper
