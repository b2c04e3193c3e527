"""Writes of the quality app: a manager's actions on a member, and the stored snapshot of a project's figures."""

import logging
import time

from django.db import transaction
from django.utils import timezone

from labeling.models import Membership, Project
from quality.models import QualityAction, QualitySnapshot
from quality.report import quality_report_compute

logger = logging.getLogger(__name__)

REASON_MAX_LENGTH = 2000


class QualityActionRefused(Exception):
    """An action that cannot be taken as asked (the message says why); nothing was changed."""


@transaction.atomic
def membership_act(*, actor, membership: Membership, kind: str, reason: str = "") -> Membership:
    """Pause, exclude or reinstate a member, and record who did it, when and why.

    Pause sets ``paused_at`` (no more tasks), exclude sets ``excluded_at`` (judgements flagged in exports and
    left out of the figures), reinstate clears both. Repeating an action keeps the first time it was taken.
    The caller has checked that ``actor`` manages the membership's project.
    """
    if kind not in QualityAction.Kind.values:
        raise QualityActionRefused(f"{kind!r} is not an action; use one of {', '.join(QualityAction.Kind.values)}.")
    reason = reason.strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise QualityActionRefused(f"The reason is {len(reason)} characters long; at most {REASON_MAX_LENGTH}.")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    now = timezone.now()
    if kind == QualityAction.Kind.PAUSE:
        membership.paused_at = membership.paused_at or now
    elif kind == QualityAction.Kind.EXCLUDE:
        membership.excluded_at = membership.excluded_at or now
    else:
        membership.paused_at = membership.excluded_at = None
    membership.save(update_fields=["paused_at", "excluded_at"])
    QualityAction.objects.create(
        project_id=membership.project_id, member_id=membership.user_id, actor=actor, kind=kind, reason=reason
    )
    return membership


def snapshot_requested(*, project: Project) -> QualitySnapshot:
    """Mark the project's figures as asked for now (the page shows "recomputing" until they are stored)."""
    snapshot, _ = QualitySnapshot.objects.get_or_create(project=project)
    snapshot.requested_at = timezone.now()
    snapshot.save(update_fields=["requested_at"])
    return snapshot


def snapshot_compute(*, project: Project) -> QualitySnapshot:
    """Compute the project's figures and store them with their time. A failure keeps the figures there were
    and stores its message, which the page shows beside the recompute button."""
    snapshot, _ = QualitySnapshot.objects.get_or_create(project=project)
    started = time.monotonic()
    try:
        figures = quality_report_compute(project=project)
    except Exception:
        logger.exception("Quality figures of project %s failed", project.pk)
        snapshot.error_message = "The figures could not be computed (the server log has the details). Try again."
        snapshot.requested_at = None
        snapshot.save(update_fields=["error_message", "requested_at"])
        return snapshot
    snapshot.figures = figures
    snapshot.computed_at = timezone.now()
    snapshot.seconds = time.monotonic() - started
    snapshot.error_message = ""
    snapshot.save(update_fields=["figures", "computed_at", "seconds", "error_message"])
    return snapshot
