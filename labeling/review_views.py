from django.contrib import messages
from django.http import Http404, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from labeling.access import (
    Capability,
    get_candidate_for_user,
    get_project_for_user,
    get_task_for_user,
    membership_for,
)
from labeling.models import Candidate, Membership, Project
from labeling.review_diff import shaded_tokens, word_diff
from labeling.review_forms import PairForm, ReviewForm
from labeling.review_selectors import pair_next_for, review_of, review_open_for
from labeling.review_services import (
    PAIR_CHOICES,
    ReviewerPaused,
    ReviewError,
    pair_preference_record,
    review_reserve_next,
    review_submit,
)
from labeling.selectors import projects_for_user


def _review_context(candidate: Candidate, user, **extra) -> dict:
    return {
        "candidate": candidate,
        "task": candidate.task,
        "project": candidate.task.project,
        "tokens": shaded_tokens(
            text=candidate.text,
            token_logprobs=candidate.token_logprobs,
            weakest_span=(candidate.uncertainty or {}).get("weakest_span"),
        ),
        "weakest_span": (candidate.uncertainty or {}).get("weakest_span"),
        "own_review": review_of(user=user, candidate=candidate),
        "open_to_review": candidate.open_to_review,
        "corrected_text": candidate.text,
        **extra,
    }


@require_GET
def review_any(request):
    """The navigation's Review link: the first of the user's text projects with an answer open to them."""
    for project in projects_for_user(user=request.user).filter(kind=Project.Kind.TEXT).order_by("name"):
        membership = membership_for(user=request.user, project=project)
        if membership.can(Capability.REVIEW) and review_open_for(user=request.user, project=project).exists():
            return redirect("labeling-review-next", slug=project.slug)
    messages.info(request, "No answers are waiting for your review right now.")
    return redirect("labeling-dashboard")


@require_GET
def review_next(request, slug: str):
    """The reviewer's next answer (oldest first, held for them for a few minutes), or an empty queue."""
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.REVIEW)
    candidate = review_reserve_next(user=request.user, project=project)
    if candidate is None:
        paused = Membership.is_paused(request.user, project)
        return render(request, "labeling/review_empty.html", {"project": project, "paused": paused})
    return redirect("labeling-review-answer", uid=candidate.uid)


@require_GET
def review_answer(request, uid):
    candidate = get_candidate_for_user(user=request.user, uid=uid, capability=Capability.REVIEW)
    may_manage = membership_for(user=request.user, project=candidate.task.project).can(Capability.MANAGE)
    return render(request, "labeling/review.html", _review_context(candidate, request.user, may_manage=may_manage))


@require_POST
def review_save(request, uid):
    candidate = get_candidate_for_user(user=request.user, uid=uid, capability=Capability.REVIEW)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(problems)}" for field, problems in form.errors.items())
        return _review_refused(request, candidate, form, errors)
    try:
        review_submit(
            reviewer=request.user,
            candidate=candidate,
            decision=form.cleaned_data["decision"],
            corrected_text=form.cleaned_data["corrected_text"],
            reason=form.cleaned_data["reason"],
        )
    except ReviewError as error:
        return _review_refused(
            request, candidate, form, str(error), status=403 if isinstance(error, ReviewerPaused) else 400
        )
    decision = form.cleaned_data["decision"]
    if decision == "correct":
        return redirect("labeling-review-saved", uid=candidate.uid)
    messages.success(request, "Answer accepted." if decision == "accept" else "Answer rejected.")
    return redirect("labeling-review-next", slug=candidate.task.project.slug)


def _review_refused(request, candidate: Candidate, form: ReviewForm, error: str, *, status: int = 400):
    """The review page again with the reviewer's text kept, so no correction is lost."""
    context = _review_context(
        candidate,
        request.user,
        error=error,
        corrected_text=form.data.get("corrected_text", candidate.text),
        reason=form.data.get("reason", ""),
        editing=form.data.get("decision") == "correct",
    )
    return render(request, "labeling/review.html", context, status=status)


@require_GET
def review_saved(request, uid):
    """The reviewer's saved correction as a word diff, with the way on to the next answer."""
    candidate = get_candidate_for_user(user=request.user, uid=uid, capability=Capability.REVIEW)
    review = review_of(user=request.user, candidate=candidate)
    if review is None:
        raise Http404("You have not reviewed this answer.")
    diff = word_diff(review.original_text, review.final_text)
    return render(
        request,
        "labeling/review_saved.html",
        {"candidate": candidate, "project": candidate.task.project, "review": review, "diff": diff},
    )


@require_POST
def review_diff_preview(request, uid):
    candidate = get_candidate_for_user(user=request.user, uid=uid, capability=Capability.REVIEW)
    corrected = request.POST.get("corrected_text", "")
    return render(request, "labeling/_review_diff.html", {"diff": word_diff(candidate.text, corrected)})


@require_GET
def pair_next(request, slug: str):
    project = get_project_for_user(user=request.user, slug=slug)
    task = pair_next_for(user=request.user, project=project)
    answers = list(task.candidates.order_by("index")) if task else []
    return render(
        request,
        "labeling/review_pair.html",
        {"project": project, "task": task, "answers": answers, "choices": PAIR_CHOICES},
    )


@require_POST
def pair_save(request, pk: int):
    task = get_task_for_user(user=request.user, pk=pk)
    form = PairForm(request.POST)
    try:
        if not form.is_valid():
            raise ReviewError(f"Unknown choice; choose one of: {', '.join(PAIR_CHOICES)}.")
        pair_preference_record(user=request.user, task=task, choice=form.cleaned_data["choice"])
    except ReviewerPaused as error:
        return HttpResponseForbidden(str(error), content_type="text/plain; charset=utf-8")
    except ReviewError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Comparison saved.")
    return redirect("labeling-pair-next", slug=task.project.slug)
