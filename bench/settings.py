"""Settings for bench/vote_load.py's server: Corral's, plus the bench-only floor endpoint (bench/urls.py).

Never used by the site itself: the floor endpoint exists only when this module is the settings module.
"""

from corral.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
