from django.apps import AppConfig


class QualityConfig(AppConfig):
    """Gold items, agreement, annotator quality, leaderboard and dashboard: reads what labeling stores."""

    name = "quality"
    default_auto_field = "django.db.models.BigAutoField"
