import uuid

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person using Corral.

    ``public_id`` is the pseudonymous id that leaves the system (exports,
    logs); usernames and emails never do.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    def __str__(self) -> str:
        return self.get_username()


class LoginFailure(models.Model):
    """One failed log-in, kept for the throttle window so every worker process counts the same attempts."""

    username = models.CharField(max_length=150, help_text="As typed, case-folded.")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["username", "created_at"], name="login_failure_user_idx"),
            models.Index(fields=["ip_address", "created_at"], name="login_failure_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} at {self.created_at:%Y-%m-%d %H:%M:%S}"
