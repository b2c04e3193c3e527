from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.lockout import login_lock


def login_locked_out(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the login page again, with status 429 and when to try again; no password was checked."""
    lock = login_lock(request, credentials)
    if lock is None:  # lifted since axes refused the attempt
        return redirect(request.get_full_path())
    context = {
        # Unbound, so that showing it does not authenticate again.
        "form": AuthenticationForm(request, initial={"username": request.POST.get("username", "")}),
        "next": request.POST.get("next", ""),
        "throttled": lock.message(now=timezone.now()),
    }
    return render(request, "accounts/login.html", context, status=429)


@login_not_required
@require_GET
def admin_login(request):
    """The admin's own login form would bypass the throttle: log in on the site's page, then go on."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), login_url=reverse("accounts-login"))
