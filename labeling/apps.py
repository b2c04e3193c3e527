from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LabelingConfig(AppConfig):
    name = "labeling"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from labeling.votes import vote_function_install

        # Every migrate brings the vote's database function up to date with labeling/votes.py's statements.
        post_migrate.connect(vote_function_install, sender=self, dispatch_uid="labeling.vote_function_install")
