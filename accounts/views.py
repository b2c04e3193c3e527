from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, redirect_to_login
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import ApiTokenForm
from accounts.lockout import login_lock
from accounts.models import ApiToken
from accounts.tokens import ApiTokenNameTaken, api_token_create, api_tokens_revoke

LOCAL_LOGIN_OFF_MESSAGE = "Log-in with a password is turned off on this site; log in with {provider}."


def login_choices() -> dict:
    """What the login page offers: single sign-on (with the provider's name) and/or the password form."""
    return {
        "sso_provider_name": settings.OIDC_PROVIDER_NAME if settings.SSO_ENABLED else "",
        "password_login": settings.PASSWORD_LOGIN_ENABLED,
    }


class SiteLoginView(LoginView):
    template_name = "accounts/login.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | login_choices()

    def post(self, request, *args, **kwargs):
        if not settings.PASSWORD_LOGIN_ENABLED:
            message = LOCAL_LOGIN_OFF_MESSAGE.format(provider=settings.OIDC_PROVIDER_NAME)
            context = self.get_context_data(form=self.get_form_class()(request), password_login_off=message)
            return self.render_to_response(context, status=403)
        return super().post(request, *args, **kwargs)


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
        **login_choices(),
    }
    return render(request, "accounts/login.html", context, status=429)


@login_not_required
@require_GET
def admin_login(request):
    """The admin's own login form would bypass the throttle: log in on the site's page, then go on."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), login_url=reverse("accounts-login"))


def _account_page(request, *, form: ApiTokenForm, status: int = 200, new_token=None, new_token_secret: str = ""):
    context = {
        "form": form,
        "tokens": ApiToken.objects.filter(user=request.user, revoked_at__isnull=True),
        "now": timezone.now(),
        "new_token": new_token,
        "new_token_secret": new_token_secret,
    }
    return render(request, "accounts/account.html", context, status=status)


@require_GET
def account(request):
    return _account_page(request, form=ApiTokenForm())


@require_POST
def token_create(request):
    """The new token's secret is in this one response only: it is stored hashed."""
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form=form, status=400)
    try:
        token, secret = api_token_create(
            user=request.user,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_at=form.expires_at(),
        )
    except ApiTokenNameTaken as exc:
        form.add_error("name", str(exc))
        return _account_page(request, form=form, status=400)
    response = _account_page(request, form=ApiTokenForm(), new_token=token, new_token_secret=secret)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, revoked_at__isnull=True)
    api_tokens_revoke(tokens=ApiToken.objects.filter(pk=token.pk))
    messages.success(request, f"Token {token.name} revoked: programs using it are refused from now on.")
    return redirect("accounts-account")
