import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.http import Http404
from django.urls import reverse

from labeling.access import get_project_for_user, get_task_for_user
from labeling.models import Candidate, Membership, Task


@pytest.fixture
def task(project):
    return Task.objects.create(project=project, prompt="a heron", source=Task.Source.BATCH)


@pytest.fixture
def candidate(task):
    candidate = Candidate(task=task, index=0)
    candidate.image.save("heron.png", ContentFile(b"\x89PNG\r\n\x1a\nnot really"), save=True)
    return candidate


def test_non_members_get_404_for_another_projects_objects(client, outsider, project, task, candidate):
    client.force_login(outsider)
    for url in [
        reverse("labeling-project", args=[project.slug]),
        reverse("labeling-task", args=[task.pk]),
        reverse("labeling-candidate-image", args=[candidate.uid]),
    ]:
        assert client.get(url).status_code == 404, url


def test_members_reach_their_projects_objects(client, annotator, project, task, candidate):
    client.force_login(annotator)
    assert client.get(reverse("labeling-project", args=[project.slug])).status_code == 200
    assert client.get(reverse("labeling-task", args=[task.pk])).status_code == 200
    image = client.get(reverse("labeling-candidate-image", args=[candidate.uid]))
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")


def test_members_without_the_role_are_forbidden(annotator, project, task):
    with pytest.raises(PermissionDenied):
        get_project_for_user(user=annotator, slug=project.slug, capability=Membership.Capability.REVIEW)
    with pytest.raises(PermissionDenied):
        get_task_for_user(user=annotator, pk=task.pk, capability=Membership.Capability.MANAGE)


def test_roles_grant_their_capabilities(reviewer, manager, project, task):
    assert get_project_for_user(user=reviewer, slug=project.slug, capability=Membership.Capability.REVIEW) == project
    assert get_task_for_user(user=manager, pk=task.pk, capability=Membership.Capability.MANAGE) == task


def test_unknown_objects_are_404_not_500(annotator):
    with pytest.raises(Http404):
        get_project_for_user(user=annotator, slug="no-such-project")
    with pytest.raises(Http404):
        get_task_for_user(user=annotator, pk=999_999)
