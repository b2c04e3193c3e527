"""The WSGI application: what granian's workers run for every HTTP request in production (``manage.py serve``).

Django's own handler and middleware, nothing in between but granian's reading of a trusted proxy's
X-Forwarded-For (FORWARDED_ALLOW_IPS), so a log-in lockout per address sees the client's, not the proxy's.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "corral.settings")
django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after the app registry is loaded)
from granian.utils.proxies import wrap_wsgi_with_proxy_headers  # noqa: E402

from corral.server import freeze_loaded_objects  # noqa: E402

application = wrap_wsgi_with_proxy_headers(django_application, trusted_hosts=settings.FORWARDED_ALLOW_IPS)
freeze_loaded_objects()
