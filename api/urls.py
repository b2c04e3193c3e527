"""The REST API, version 1 (mounted at /api/v1/ by corral/urls.py)."""

from django.contrib.auth.decorators import login_required
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.views.base import NotFoundView
from api.views.batches import BatchCreate, BatchDetail
from api.views.exports import ExportDetail, ExportList
from api.views.judgements import PickList, ReviewList, VoteList
from api.views.projects import ProjectDetail, ProjectList
from api.views.tasks import TaskDetail, TaskList

urlpatterns = [
    path("projects", ProjectList.as_view(), name="api-projects"),
    path("projects/<slug:slug>", ProjectDetail.as_view(), name="api-project"),
    path("projects/<slug:slug>/batches", BatchCreate.as_view(), name="api-batches"),
    path("projects/<slug:slug>/tasks", TaskList.as_view(), name="api-tasks"),
    path("projects/<slug:slug>/votes", VoteList.as_view(), name="api-votes"),
    path("projects/<slug:slug>/picks", PickList.as_view(), name="api-picks"),
    path("projects/<slug:slug>/reviews", ReviewList.as_view(), name="api-reviews"),
    path("projects/<slug:slug>/exports", ExportList.as_view(), name="api-exports"),
    path("batches/<int:pk>", BatchDetail.as_view(), name="api-batch"),
    path("tasks/<int:pk>", TaskDetail.as_view(), name="api-task"),
    path("exports/<int:pk>", ExportDetail.as_view(), name="api-export"),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI (Redoc's page loads web fonts and a logo from other sites). A page for people: log in first,
    # like every page of the site (DRF views skip LoginRequiredMiddleware).
    path("docs", login_required(SpectacularSwaggerView.as_view(url_name="api-schema")), name="api-docs"),
    # Last: a path that matches nothing above (a negative id, a typo) gets the API's JSON 404.
    re_path(r"^(?P<path>.*)$", NotFoundView.as_view(), name="api-not-found"),
]
