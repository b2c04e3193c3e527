"""The benches' logged-in people: a session as the log-in form leaves it, made straight in the session store."""


def logged_in_session_key(user) -> str:
    """A new session of ``user``, logged in through the account backend; its key is the session cookie.
    Call after ``django.setup()``."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.ACCOUNT_LOGIN_BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key
