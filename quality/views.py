from django.contrib.auth import get_user_model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from labeling.access import Capability, get_project_for_user, membership_for
from labeling.models import Membership, Preference, Project, Review, Vote
from quality.models import QualityAction
from quality.selectors import (
    annotator_rows,
    judgements_beside_others,
    recent_actions,
    snapshot_of,
    sort_columns,
    sort_key_of,
)
from quality.services import QualityActionRefused, membership_act
from quality.tasks import quality_recompute_enqueue


def _page_context(request: HttpRequest, project: Project) -> dict:
    sort = sort_key_of(request.GET.get("sort", ""))
    snapshot = snapshot_of(project=project)
    return {
        "project": project,
        "snapshot": snapshot,
        "report": snapshot.figures if snapshot and snapshot.computed_at else None,
        "rows": annotator_rows(project=project, snapshot=snapshot, sort=sort),
        "sort": sort,
        "sort_columns": sort_columns(sort=sort),
        "can_manage": membership_for(user=request.user, project=project).can(Capability.MANAGE),
        "actions": recent_actions(project=project),
    }


@require_GET
def quality_page(request, slug: str):
    """The project's figures from the stored snapshot (never computed here), and the annotator table."""
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.REVIEW)
    template = "quality/page.html#annotator-table" if request.htmx else "quality/page.html"
    return render(request, template, _page_context(request, project))


@require_POST
def quality_recompute(request, slug: str):
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.REVIEW)
    quality_recompute_enqueue(project=project)
    if request.htmx:
        return render(request, "quality/page.html#freshness", _page_context(request, project))
    return redirect("quality-page", slug=project.slug)


@require_POST
def quality_member_action(request, slug: str, user_id: int, kind: str):
    """Pause, exclude or reinstate a member (managers only). HTMX gets the person's table row back."""
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    membership = Membership.objects.filter(project=project, user_id=user_id).first()
    if membership is None:
        raise Http404("No such member of this project.")
    try:
        membership_act(actor=request.user, membership=membership, kind=kind, reason=request.POST.get("reason", ""))
    except QualityActionRefused as refused:
        return HttpResponse(str(refused), status=400, content_type="text/plain; charset=utf-8")
    if kind != QualityAction.Kind.PAUSE:
        # Exclusion changes the project's figures: have them recomputed without (or with) this person.
        quality_recompute_enqueue(project=project)
    if not request.htmx:
        return redirect(f"{reverse('quality-page', kwargs={'slug': project.slug})}#person-{user_id}")
    context = _page_context(request, project)
    context["row"] = next(row for row in context["rows"] if row["user_id"] == user_id)
    return render(request, "quality/page.html#annotator-row", context)


@require_GET
def quality_annotator(request, slug: str, user_id: int):
    """One person's latest judgements beside the others' on the same items."""
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.REVIEW)
    person = get_user_model().objects.filter(pk=user_id).first()
    judged = person is not None and (
        Membership.objects.filter(project=project, user=person).exists()
        or Vote.objects.filter(user=person, candidate__task__project=project).exists()
        or Preference.objects.filter(user=person, task__project=project).exists()
        or Review.objects.filter(reviewer=person, candidate__task__project=project).exists()
    )
    if not judged:
        raise Http404("No such person in this project.")
    return render(
        request,
        "quality/annotator.html",
        {
            "project": project,
            "person": person,
            "items": judgements_beside_others(project=project, user_id=user_id),
            "kinds": [("votes", "👍 / 👎"), ("picks", "Best picks"), ("reviews", "Reviews")],
        },
    )
