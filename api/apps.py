from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The outside view of the apps below: the REST API and webhooks."""

    name = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from api import schema  # noqa: F401 (registers the token scheme with drf-spectacular)

        # Connects the webhook receivers to the lower apps' signals.
        from api.webhooks import receivers  # noqa: F401
