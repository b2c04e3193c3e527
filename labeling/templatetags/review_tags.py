from django import template

from labeling.access import Capability, membership_for
from labeling.models import Project
from labeling.review_selectors import pair_next_for, review_open_for, review_waiting_for

register = template.Library()

# "Open to you" counts this many at most, as "Tasks left" does: an exact count would read every waiting answer.
OPEN_SHOWN_AT_MOST = 100


@register.simple_tag
def review_summary(project: Project, user) -> dict:
    """What the project page's review panel shows this user."""
    membership = membership_for(user=user, project=project)
    can_review = membership is not None and membership.can(Capability.REVIEW)
    open_for_you = review_open_for(user=user, project=project)[: OPEN_SHOWN_AT_MOST + 1].count() if can_review else 0
    return {
        "is_text": project.kind == Project.Kind.TEXT,
        "can_review": can_review,
        "can_manage": membership is not None and membership.can(Capability.MANAGE),
        "waiting": review_waiting_for(user=user, project=project).count() if can_review else 0,
        "open_for_you": min(open_for_you, OPEN_SHOWN_AT_MOST),
        "open_for_you_more": open_for_you > OPEN_SHOWN_AT_MOST,
        "pairs": project.candidates_per_task == 2 and pair_next_for(user=user, project=project) is not None,
    }
