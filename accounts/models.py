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
