import ipaddress

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.throttle import LoginLock, login_attempt_start, login_failures_clear


def _client_address(request) -> str | None:
    """The client's IP address, or None (a unix socket has none).

    uvicorn puts it in REMOTE_ADDR, from X-Forwarded-For when the proxy is trusted (FORWARDED_ALLOW_IPS),
    so a proxy in front does not make every visitor share one address.
    """
    try:
        return str(ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")))
    except ValueError:
        return None


class ThrottledLoginView(auth_views.LoginView):
    """Django's login page, refusing to check passwords after too many failures for a username or address."""

    template_name = "accounts/login.html"

    def post(self, request, *args, **kwargs):
        outcome = login_attempt_start(username=request.POST.get("username", ""), ip_address=_client_address(request))
        if isinstance(outcome, LoginLock):
            context = self.get_context_data(form=self.get_form(), throttled=outcome.message(now=timezone.now()))
            return self.render_to_response(context, status=429)
        # A failed check leaves the attempt recorded as a failure.
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        login_failures_clear(username=self.request.POST.get("username", ""))
        return super().form_valid(form)


@login_not_required
@require_GET
def admin_login(request):
    """The admin's own login form would bypass the throttle: log in on the site's page, then go on."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), login_url=reverse("accounts-login"))
