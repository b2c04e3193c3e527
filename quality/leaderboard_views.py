"""The leaderboard and dashboard pages: they read the figures a worker computed, and say how fresh they are."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from labeling.access import get_project_for_user
from labeling.models import Membership
from quality.figure_models import FigureSnapshot
from quality.figures import figures_are_stale, figures_request, figures_snapshot
from quality.tasks import figures_enqueue

Kind = FigureSnapshot.Kind
PAGES = {
    Kind.LEADERBOARD: ("quality-leaderboard", "quality/leaderboard.html"),
    Kind.DASHBOARD: ("quality-dashboard", "quality/dashboard.html"),
}


def _figures_page(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    project = get_project_for_user(user=request.user, slug=slug, capability=Membership.Capability.REVIEW)
    snapshot = figures_snapshot(project=project, kind=kind)
    if request.htmx and "since" in request.GET:
        # The freshness line polls while figures are being computed; new figures reload the page.
        if snapshot.computed_at and snapshot.computed_at.isoformat() != request.GET["since"]:
            return HttpResponseClientRefresh()
        return render(request, "quality/_freshness.html", _context(project, snapshot, kind))
    if figures_are_stale(snapshot) and not snapshot.error_message:
        figures_request(snapshot=snapshot, enqueue=figures_enqueue)
    return render(request, PAGES[kind][1], _context(project, snapshot, kind))


def _matrix_rows(data: dict | None) -> list[dict]:
    """The win-rate matrix as table rows."""
    if not data or "matrix" not in data:
        return []
    matrix = data["matrix"]
    return [
        {
            "model": model,
            "cells": [
                {"rate": rate, "comparisons": count}
                for rate, count in zip(matrix["win_rates"][number], matrix["comparisons"][number], strict=True)
            ],
        }
        for number, model in enumerate(matrix["models"])
    ]


def _context(project, snapshot: FigureSnapshot, kind: str) -> dict:
    return {
        "matrix_rows": _matrix_rows(snapshot.data),
        "project": project,
        "snapshot": snapshot,
        "data": snapshot.data,
        "kind": kind,
        "page_url": reverse(PAGES[kind][0], args=[project.slug]),
        "recompute_url": reverse(f"{PAGES[kind][0]}-recompute", args=[project.slug]),
        "age_seconds": (timezone.now() - snapshot.computed_at).total_seconds() if snapshot.computed_at else None,
    }


@require_GET
def leaderboard_page(request, slug: str):
    return _figures_page(request, slug, Kind.LEADERBOARD)


@require_GET
def dashboard_page(request, slug: str):
    return _figures_page(request, slug, Kind.DASHBOARD)


@require_POST
def figures_recompute(request, slug: str, kind: str):
    """The Recompute button: ask a worker for fresh figures now (once, however often it is pressed)."""
    project = get_project_for_user(user=request.user, slug=slug, capability=Membership.Capability.REVIEW)
    snapshot = figures_snapshot(project=project, kind=kind)
    FigureSnapshot.objects.filter(pk=snapshot.pk).update(error_message="")
    if figures_request(snapshot=snapshot, enqueue=figures_enqueue):
        messages.info(request, "Fresh figures were asked for; this page shows them when they are ready.")
    else:
        messages.info(request, "Fresh figures are already being computed.")
    return redirect(PAGES[kind][0], slug=project.slug)
