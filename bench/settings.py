"""Settings for bench/vote_load.py's server: Corral's, plus the bench-only floor endpoint (bench/asgi.py).

Never used by the site itself: the floor endpoint exists only when this module is the settings module.
"""

from corral.settings import *  # noqa: F403

ASGI_APPLICATION = "bench.asgi.application"
