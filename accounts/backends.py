from django.contrib.auth.backends import ModelBackend

from accounts.models import User

USER_BY_ID_SQL = "SELECT * FROM accounts_user WHERE id = %s"


class UserBackend(ModelBackend):
    """Django's model backend, loading the user of each request with one hand-written statement.

    Every request of a logged-in user loads them; building that query through the ORM cost more CPU
    than running it. Inactive users are refused as by ModelBackend.
    """

    def get_user(self, user_id):
        user = next(iter(User.objects.raw(USER_BY_ID_SQL, [user_id])), None)
        return user if user is not None and self.user_can_authenticate(user) else None
