"""Every URL of the site, found through the resolver so a new one cannot be forgotten here."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from generation.models import GenerationJob
from labeling.models import Candidate, Task

PUBLIC = {"corral-healthz", "accounts-login"}
PLACEHOLDER = re.compile(r"<(?:(\w+):)?(\w+)>")


def site_patterns(patterns=None, prefix: str = ""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern) == "admin/":
                continue  # Django's admin: staff only, covered by its own login redirect
            yield from site_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


@pytest.fixture
def objects(project):
    task = Task.objects.create(project=project, prompt="a heron", source=Task.Source.BATCH, status=Task.Status.READY)
    candidate = Candidate.objects.create(task=task, index=0)
    job = GenerationJob.objects.create(task=task, kind=GenerationJob.Kind.IMAGE, status=GenerationJob.Status.FAILED)
    return {"slug": project.slug, "pk": task.pk, "uid": candidate.uid, "job_pk": job.pk}


def concrete(route: str, objects: dict) -> str:
    return "/" + PLACEHOLDER.sub(lambda match: str(objects[match.group(2)]), route)


def test_every_page_but_login_and_healthz_sends_anonymous_visitors_to_login(client, objects):
    routes = list(site_patterns())
    assert len(routes) > 20
    for route, name in routes:
        url = concrete(route, objects)
        for method in (client.get, client.post):
            response = method(url)
            if name in PUBLIC:
                assert response.status_code != 302 or "login" not in response.get("Location", ""), url
            else:
                assert response.status_code == 302, (name, method.__name__, response.status_code)
                assert response["Location"].startswith("/accounts/login/"), name


def test_members_of_other_projects_cannot_reach_any_object_of_this_one(client, outsider, objects):
    client.force_login(outsider)
    checked = 0
    for route, name in site_patterns():
        if not PLACEHOLDER.search(route):
            continue
        url = concrete(route, objects)
        for method in (client.get, client.post):
            status = method(url).status_code
            # 405: the view takes the other method, and refuses before looking anything up.
            assert status in {404, 405}, (name, method.__name__, status)
        checked += 1
    assert checked > 15
    assert Candidate.objects.get().votes.count() == 0
