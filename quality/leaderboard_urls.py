from django.urls import path

from quality import leaderboard_views as views
from quality.figure_models import FigureSnapshot

urlpatterns = [
    path("p/<slug:slug>/leaderboard", views.leaderboard_page, name="quality-leaderboard"),
    path(
        "p/<slug:slug>/leaderboard/recompute",
        views.figures_recompute,
        {"kind": FigureSnapshot.Kind.LEADERBOARD},
        name="quality-leaderboard-recompute",
    ),
    path("p/<slug:slug>/dashboard", views.dashboard_page, name="quality-dashboard"),
    path(
        "p/<slug:slug>/dashboard/recompute",
        views.figures_recompute,
        {"kind": FigureSnapshot.Kind.DASHBOARD},
        name="quality-dashboard-recompute",
    ),
]
