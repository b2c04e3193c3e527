"""Two marks every consumer of judgements states the same way: the figures, the Quality page and the export.

- A gold judgement is one on a task with a gold (expected) judgement.
- An excluded judgement is one by a person whose membership of the project is excluded (``excluded_at`` set).
"""

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q

from labeling.models import Membership

EXCLUDED_MEMBERSHIP = Q(excluded_at__isnull=False)


def gold_mark(*, task_ref: str) -> ExpressionWrapper:
    """True for rows whose task (reached through ``task_ref``, e.g. "candidate__task") is gold."""
    return ExpressionWrapper(Q(**{f"{task_ref}__gold__isnull": False}), output_field=BooleanField())


def excluded_mark(*, user_ref: str, project_ref: str) -> Exists:
    """True for rows made by a person excluded from the row's project."""
    return Exists(
        Membership.objects.filter(EXCLUDED_MEMBERSHIP, user=OuterRef(user_ref), project=OuterRef(project_ref))
    )
