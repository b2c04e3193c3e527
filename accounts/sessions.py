"""Django's database sessions, read with one hand-written statement.

Every request of a logged-in user reads its session; building that query through the ORM cost more
CPU than running it. Sessions stay rows in PostgreSQL (or SQLite): logging out deletes the row, so
every server process sees it at once, and nothing depends on Redis.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone

SESSION_DATA_SQL = "SELECT session_data FROM django_session WHERE session_key = %s AND expire_date > %s"


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        """The unexpired session row, or None (and no key, so that a new session gets a fresh one)."""
        if self.session_key is not None:
            connection = connections[router.db_for_read(self.model)]
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            with connection.cursor() as cursor:
                cursor.execute(SESSION_DATA_SQL, [self.session_key, now])
                row = cursor.fetchone()
            if row is not None:
                return self.model(session_key=self.session_key, session_data=row[0])
        self._session_key = None
        return None
