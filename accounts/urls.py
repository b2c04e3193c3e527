from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import path

from accounts import views
from accounts.sso import SsoCallbackView, SsoStartView

urlpatterns = [
    path("login/", views.SiteLoginView.as_view(), name="accounts-login"),
    # Single sign-on (404 unless OIDC_ISSUER_URL is set); register <site>/accounts/sso/callback/ with the provider.
    path("sso/start/", login_not_required(SsoStartView.as_view()), name="accounts-sso-start"),
    path("sso/callback/", login_not_required(SsoCallbackView.as_view()), name="accounts-sso-callback"),
    path("logout/", auth_views.LogoutView.as_view(), name="accounts-logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html", success_url="/accounts/password/done/"
        ),
        name="accounts-password-change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html"),
        name="accounts-password-change-done",
    ),
    path("", views.account, name="accounts-account"),
    path("tokens/", views.token_create, name="accounts-token-create"),
    path("tokens/<int:pk>/revoke", views.token_revoke, name="accounts-token-revoke"),
]
