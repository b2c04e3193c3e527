"""The authorization matrix: every URL of the site × every kind of visitor × every method → one expected status.

The URL names come from the resolver, and ``SITE`` must name exactly those, so a new URL without an
entry here fails ``test_the_table_names_every_url_of_the_site``. Each URL is called on real objects
of one project (``world``) by an anonymous visitor, an annotator, a reviewer and a manager of that
project, a manager of another project only (``outsider``), and a superuser (``staff``). The REST API's
URLs answer anonymous callers 401 (not a redirect to the login page), and are called again with API tokens
of both scopes: a read token never writes.
"""

from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from accounts.models import ApiToken, User
from accounts.tokens import api_token_create
from api.webhooks.models import WebhookDelivery, WebhookEndpoint
from exports.models import ExportRun
from generation.models import GenerationJob, WorkerHeartbeat
from labeling.models import Candidate, Membership, Preference, Project, PromptBatch, Review, Task, Vote
from quality.models import QualityAction
from tests.factories import make_user, png_bytes

ACTORS = ("anonymous", "annotator", "reviewer", "manager", "outsider", "staff")
METHODS = ("GET", "POST", "DELETE")  # DELETE stands for every method no page takes

LOGIN = "login"  # 302 to the login page
OK, CREATED, ACCEPTED, REDIRECT = 200, 201, 202, 302
UNAUTHORIZED, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 401, 403, 404, 405


def members(status: int, **overrides) -> dict[str, int | str]:
    """Every member (and staff) gets ``status``, the outsider 404."""
    return {"annotator": status, "reviewer": status, "manager": status, "staff": status, "outsider": NOT_FOUND} | (
        overrides
    )


def reviewers(status: int) -> dict[str, int | str]:
    return members(status, annotator=FORBIDDEN)


def managers(status: int) -> dict[str, int | str]:
    return members(status, annotator=FORBIDDEN, reviewer=FORBIDDEN)


def everyone_logged_in(status: int) -> dict[str, int | str]:
    return members(status, outsider=status)


@dataclass(frozen=True)
class Route:
    """What each actor gets from one URL. A method left as None is not accepted (405 once logged in)."""

    get: dict | None = None
    post: dict | None = None
    objects: dict[str, str] = field(default_factory=dict)  # URL kwarg → key in ``world``
    data: dict = field(default_factory=dict)  # a valid POST body
    json: dict | None = None  # a valid POST body sent as JSON instead
    public: bool = False  # anonymous visitors are served, not sent to login
    api: bool = False  # the REST API: anonymous callers get 401 whatever the method

    def expected(self, actor: str, method: str) -> int | str:
        if actor == "anonymous" and self.api:
            return UNAUTHORIZED
        if actor == "anonymous" and not self.public:
            return LOGIN
        outcomes = {"GET": self.get, "POST": self.post}.get(method)
        if outcomes is None:
            return NOT_ALLOWED
        return outcomes[actor] if actor in outcomes else outcomes["anonymous"]


IMAGE_PROJECT = {"slug": "image_project"}
TEXT_PROJECT = {"slug": "text_project"}
IMAGE_TASK = {"pk": "image_task"}
TEXT_TASK = {"pk": "text_task"}
WEBHOOK = {"slug": "image_project", "pk": "webhook"}

SITE: dict[str, Route] = {
    "corral-healthz": Route(get={"anonymous": OK} | everyone_logged_in(OK), public=True),
    "accounts-login": Route(
        get={"anonymous": OK} | everyone_logged_in(OK), post={"anonymous": OK} | everyone_logged_in(OK), public=True
    ),
    # The admin's login is the site's (throttled) one.
    "accounts-admin-login": Route(get={"anonymous": LOGIN} | everyone_logged_in(LOGIN), public=True),
    # Single sign-on is off here (no OIDC_ISSUER_URL): its two URLs answer 404 to everyone; tests/accounts/test_sso*.
    "accounts-sso-start": Route(get={"anonymous": NOT_FOUND} | everyone_logged_in(NOT_FOUND), public=True),
    "accounts-sso-callback": Route(get={"anonymous": NOT_FOUND} | everyone_logged_in(NOT_FOUND), public=True),
    "accounts-logout": Route(post=everyone_logged_in(LOGIN)),  # logged out, back to the login page
    "accounts-password-change": Route(get=everyone_logged_in(OK), post=everyone_logged_in(OK)),
    "accounts-password-change-done": Route(get=everyone_logged_in(OK)),
    "labeling-dashboard": Route(get=everyone_logged_in(OK)),
    "labeling-project": Route(get=members(OK), objects=IMAGE_PROJECT),
    "labeling-task-next": Route(post=members(REDIRECT), objects=IMAGE_PROJECT),
    "labeling-task": Route(get=members(OK), objects=IMAGE_TASK),
    "labeling-task-candidates": Route(get=members(OK), objects=IMAGE_TASK),
    "labeling-task-history": Route(get=managers(OK), objects=IMAGE_TASK),
    "labeling-preference": Route(post=members(REDIRECT), objects=IMAGE_TASK, data={"choice": "tie"}),
    "labeling-task-skip": Route(post=members(REDIRECT), objects=IMAGE_TASK),
    "labeling-candidate-image": Route(get=members(OK), objects={"uid": "image_candidate"}),
    "labeling-vote": Route(post=members(REDIRECT), objects={"uid": "image_candidate"}, data={"value": "up"}),
    "labeling-review-any": Route(get=everyone_logged_in(REDIRECT)),
    "labeling-review-next": Route(get=reviewers(REDIRECT), objects=TEXT_PROJECT),
    "labeling-review-answer": Route(get=reviewers(OK), objects={"uid": "flagged_answer"}),
    "labeling-review-save": Route(
        post=reviewers(REDIRECT), objects={"uid": "flagged_answer"}, data={"decision": "accept"}
    ),
    # The reviewer, the manager and staff have each reviewed this answer; the annotator may not review.
    "labeling-review-saved": Route(get=reviewers(OK), objects={"uid": "reviewed_answer"}),
    "labeling-review-diff": Route(
        post=reviewers(OK), objects={"uid": "flagged_answer"}, data={"corrected_text": "Canberra."}
    ),
    "labeling-pair-next": Route(get=members(OK), objects=TEXT_PROJECT),
    "labeling-pair-save": Route(post=members(REDIRECT), objects={"pk": "pair_task"}, data={"choice": "tie"}),
    "generation-request": Route(
        get=members(OK), post=members(REDIRECT), objects=IMAGE_PROJECT, data={"prompt": "a heron in the rain"}
    ),
    "generation-job-status": Route(get=members(OK), objects={"pk": "failed_job"}),
    # Only the person who typed the prompt (nobody here: it was imported) or a manager may retry.
    "generation-retry": Route(post=managers(REDIRECT), objects={"pk": "failed_task"}),
    "generation-text-panel": Route(get=members(OK), objects=TEXT_TASK),
    "generation-text-generate": Route(post=members(REDIRECT), objects=TEXT_TASK),
    "generation-text-generate-batch": Route(post=managers(REDIRECT), objects=TEXT_PROJECT),
    "quality-page": Route(get=reviewers(OK), objects=IMAGE_PROJECT),
    "quality-recompute": Route(post=reviewers(REDIRECT), objects=IMAGE_PROJECT),
    "quality-annotator": Route(get=reviewers(OK), objects=IMAGE_PROJECT | {"user_id": "annotator_id"}),
    # Managers act on a member (the annotator); everyone else is refused and nothing changes.
    "quality-pause": Route(post=managers(REDIRECT), objects=IMAGE_PROJECT | {"user_id": "annotator_id"}),
    "quality-exclude": Route(post=managers(REDIRECT), objects=IMAGE_PROJECT | {"user_id": "annotator_id"}),
    "quality-reinstate": Route(post=managers(REDIRECT), objects=IMAGE_PROJECT | {"user_id": "annotator_id"}),
    "accounts-account": Route(get=everyone_logged_in(OK)),
    "accounts-token-create": Route(post=everyone_logged_in(OK), data={"name": "matrix token", "scope": "read"}),
    # Only the owner (here the manager) revokes a token on the account page; staff do it in the admin.
    "accounts-token-revoke": Route(post=members(NOT_FOUND, manager=REDIRECT), objects={"pk": "manager_token"}),
    "api-projects": Route(get=everyone_logged_in(OK), api=True),
    "api-project": Route(get=members(OK), objects=IMAGE_PROJECT, api=True),
    "api-batches": Route(
        post=managers(CREATED), objects=IMAGE_PROJECT, json={"rows": [{"prompt": "a pelican"}]}, api=True
    ),
    "api-batch": Route(get=managers(OK), objects={"pk": "batch"}, api=True),
    "api-tasks": Route(get=members(OK), objects=IMAGE_PROJECT, api=True),
    "api-task": Route(get=members(OK), objects=IMAGE_TASK, api=True),
    "api-votes": Route(get=managers(OK), objects=IMAGE_PROJECT, api=True),
    "api-picks": Route(get=managers(OK), objects=IMAGE_PROJECT, api=True),
    "api-reviews": Route(get=managers(OK), objects=TEXT_PROJECT, api=True),
    "api-exports": Route(get=managers(OK), post=managers(ACCEPTED), objects=IMAGE_PROJECT, json={}, api=True),
    "api-export": Route(get=managers(OK), objects={"pk": "export_run"}, api=True),
    "api-schema": Route(get=everyone_logged_in(OK), api=True),
    "api-not-found": Route(
        get=everyone_logged_in(NOT_FOUND), post=everyone_logged_in(NOT_FOUND), objects={"path": "typo"}, api=True
    ),
    # The API's documentation page is a page of the site: log in first.
    "api-docs": Route(get=everyone_logged_in(OK)),
    "api-webhooks": Route(
        get=managers(OK),
        post=managers(REDIRECT),
        objects=IMAGE_PROJECT,
        data={"url": "http://127.0.0.1:9/new-receiver", "events": ["task.completed"]},
    ),
    "api-webhook": Route(get=managers(OK), objects=WEBHOOK),
    "api-webhook-test": Route(post=managers(REDIRECT), objects=WEBHOOK),
    "api-webhook-delete": Route(post=managers(REDIRECT), objects=WEBHOOK),
    "api-webhook-delivery-send-again": Route(
        post=managers(REDIRECT), objects={"slug": "image_project", "pk": "failed_delivery"}
    ),
    # Figures are for reviewers and managers; annotators judge without seeing which model leads.
    "quality-leaderboard": Route(get=reviewers(OK), objects=IMAGE_PROJECT),
    "quality-leaderboard-recompute": Route(post=reviewers(REDIRECT), objects=IMAGE_PROJECT),
    "quality-dashboard": Route(get=reviewers(OK), objects=TEXT_PROJECT),
    "quality-dashboard-recompute": Route(post=reviewers(REDIRECT), objects=TEXT_PROJECT),
}


def _pattern_names(patterns) -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            names |= _pattern_names(pattern.url_patterns)
        else:
            # A URL without a name cannot have an entry: it shows up as missing from the table.
            names.add(pattern.name or f"(unnamed: {pattern.pattern})")
    return names


def site_url_names() -> set[str]:
    return _pattern_names(p for p in get_resolver().url_patterns if getattr(p, "namespace", None) != "admin")


def admin_url_names() -> set[str]:
    (admin_resolver,) = [p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "admin"]
    return _pattern_names(admin_resolver.url_patterns)


def test_the_table_names_every_url_of_the_site():
    names = site_url_names()
    assert len(names) > 25
    assert set(SITE) - names == set(), "entries for URLs that no longer exist"
    assert names - set(SITE) == set(), "URLs without an entry in the authorization matrix"


@pytest.fixture(scope="module")
def module_world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at its end; each test runs
    in a savepoint within it (pytest-django's ``db``), so what one request changes no other test sees."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(module_world, db, settings) -> dict:
    settings.OPENAI_BASE_URL = settings.OPENAI_API_KEY = ""  # text generation answers "not configured"
    settings.WEBHOOK_ALLOW_LOOPBACK = True  # the webhook's receiver URL is on loopback
    # Each test has its own MEDIA_ROOT (tests/conftest.py): put the candidate's image there.
    default_storage.save(module_world["image_name"], ContentFile(png_bytes()))
    return module_world


def _build_world() -> dict:
    """One image and one text project with the objects every URL needs, and the six actors."""
    WorkerHeartbeat.objects.create(hostname="matrix-worker")
    image_project = Project.objects.create(slug="birds", name="Birds", kind=Project.Kind.IMAGE)
    text_project = Project.objects.create(slug="answers", name="Answers", kind=Project.Kind.TEXT, candidates_per_task=1)
    actors: dict[str, User | None] = {"anonymous": None}
    for role in Membership.Role:
        user = actors[role.value] = make_user(role.value)
        for project in (image_project, text_project):
            Membership.objects.create(user=user, project=project, role=role)
    actors["outsider"] = make_user("outsider")
    elsewhere = Project.objects.create(slug="elsewhere", name="Elsewhere", kind=Project.Kind.TEXT)
    Membership.objects.create(user=actors["outsider"], project=elsewhere, role=Membership.Role.MANAGER)
    actors["staff"] = make_user("staff", is_staff=True, is_superuser=True)

    image_task = Task.objects.create(project=image_project, prompt="a heron", source="batch", status="ready")
    image_candidate = Candidate(task=image_task, index=0)
    image_candidate.image.save("matrix.png", ContentFile(png_bytes()), save=True)
    Candidate.objects.create(task=image_task, index=1)
    failed_task = Task.objects.create(project=image_project, prompt="a stork", source="batch", status="failed")
    failed_job = GenerationJob.objects.create(task=failed_task, kind="image", status="failed", error_message="boom")

    text_task = Task.objects.create(project=text_project, prompt="Capital of Australia?", source="batch")
    GenerationJob.objects.create(task=text_task, kind="text", status="failed", error_message="500")
    flagged = dict(text="Maybe Sydney.", confidence=0.3, review_state=Candidate.ReviewState.NEEDS_REVIEW)
    flagged_answer = Candidate.objects.create(task=text_task, index=0, **flagged)
    reviewed_task = Task.objects.create(project=text_project, prompt="Capital of Peru?", source="batch")
    reviewed_answer = Candidate.objects.create(task=reviewed_task, index=0, **flagged)
    for reviewer in (actors["reviewer"], actors["manager"], actors["staff"]):
        Review.objects.create(
            reviewer=reviewer,
            candidate=reviewed_answer,
            decision="correct",
            original_text="Maybe Sydney.",
            corrected_text="Lima.",
        )
    pair_task = Task.objects.create(project=text_project, prompt="Say hi", source="batch", status="ready")
    for index, text in enumerate(["Hi!", "Hello."]):
        Candidate.objects.create(task=pair_task, index=index, text=text, review_state="accepted")
    # Rows for the admin's change pages.
    batch = PromptBatch.objects.create(project=image_project, name="birds.csv", prompt_count=1)
    Vote.objects.create(user=actors["manager"], candidate=image_candidate, value=Vote.Value.UP)
    Preference.objects.create(user=actors["manager"], task=image_task, choice=Preference.Choice.TIE)
    export_run = ExportRun.objects.create(project=image_project)
    manager_token, _ = api_token_create(user=actors["manager"], name="matrix")
    webhook = WebhookEndpoint.objects.create(
        project=image_project, url="http://127.0.0.1:9/hooks", events=["task.completed"]
    )
    failed_delivery = WebhookDelivery.objects.create(
        endpoint=webhook, event_type="webhook.test", payload={}, status="failed", attempts=11, last_error="HTTP 500"
    )
    return {
        "actors": actors,
        "image_name": image_candidate.image.name,
        "image_project_pk": image_project.pk,
        "image_project": image_project.slug,
        "text_project": text_project.slug,
        "image_task": image_task.pk,
        "image_candidate": image_candidate.uid,
        "failed_task": failed_task.pk,
        "failed_job": failed_job.pk,
        "text_task": text_task.pk,
        "flagged_answer": flagged_answer.uid,
        "reviewed_answer": reviewed_answer.uid,
        "pair_task": pair_task.pk,
        "annotator_id": actors["annotator"].pk,
        "batch": batch.pk,
        "export_run": export_run.pk,
        "typo": "projects/birds/vote",
        "manager_token": manager_token.pk,
        "webhook": webhook.pk,
        "failed_delivery": failed_delivery.pk,
    }


def client_for(user: User | None, **options) -> Client:
    client = Client(**options)
    if user is not None:
        client.force_login(user)
    return client


def url_of(name: str, route: Route, world: dict) -> str:
    return reverse(name, kwargs={kwarg: world[key] for kwarg, key in route.objects.items()})


def post(client: Client, url: str, route: Route, **headers):
    if route.json is not None:
        return client.post(url, route.json, content_type="application/json", **headers)
    return client.post(url, route.data, **headers)


def check_status(response, expected: int | str, context: str) -> None:
    if expected == LOGIN:
        assert response.status_code == 302, f"{context}: {response.status_code}, expected a redirect to login"
        assert response["Location"].startswith(reverse("accounts-login")), f"{context}: {response['Location']}"
        return
    assert response.status_code == expected, f"{context}: {response.status_code}, expected {expected}"
    if expected == REDIRECT:
        # Success goes somewhere inside the site, never back to the login page.
        assert not response["Location"].startswith(reverse("accounts-login")), f"{context}: {response['Location']}"


MATRIX = [(name, actor, method) for name in SITE for actor in ACTORS for method in METHODS]


@pytest.mark.parametrize(("name", "actor", "method"), MATRIX, ids=[":".join(case) for case in MATRIX])
def test_authorization_matrix(world, name, actor, method):
    route = SITE[name]
    client = client_for(world["actors"][actor])
    url = url_of(name, route, world)
    response = post(client, url, route) if method == "POST" else client.generic(method, url)
    check_status(response, route.expected(actor, method), f"{method} {url} as {actor}")


API_MATRIX = [
    (name, actor, method, scope)
    for name, route in SITE.items()
    if route.api
    for actor in ACTORS
    if actor != "anonymous"
    for method in METHODS
    for scope in ApiToken.Scope
]


@pytest.mark.parametrize(("name", "actor", "method", "scope"), API_MATRIX, ids=[":".join(case) for case in API_MATRIX])
def test_api_tokens_get_what_sessions_get_and_read_tokens_never_write(world, name, actor, method, scope):
    route = SITE[name]
    _, secret = api_token_create(user=world["actors"][actor], name=f"matrix {scope}", scope=scope)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    url = url_of(name, route, world)
    response = post(client, url, route) if method == "POST" else client.generic(method, url)
    expected = route.expected(actor, method)
    if method != "GET" and scope == ApiToken.Scope.READ:
        expected = FORBIDDEN  # refused for its scope before anything else is looked at
    check_status(response, expected, f"{method} {url} as {actor} with a {scope} token")


def test_a_refused_request_changes_nothing(world):
    """The outsider's tries at every write of this project leave no trace."""
    client = client_for(world["actors"]["outsider"])
    tables = (
        Vote,
        Preference,
        Review,
        Task,
        GenerationJob,
        PromptBatch,
        ExportRun,
        QualityAction,
        ApiToken,
        WebhookEndpoint,
        WebhookDelivery,
    )
    before = {model.__name__: model.objects.count() for model in tables}
    for name, route in SITE.items():
        if route.post is not None and route.objects:
            post(client, url_of(name, route, world), route)
    assert {model.__name__: model.objects.count() for model in tables} == before


def test_every_post_needs_a_csrf_token(world):
    client = client_for(world["actors"]["manager"], enforce_csrf_checks=True)
    posts = [name for name, route in SITE.items() if route.post is not None]
    assert len(posts) > 10
    for name in posts:
        response = post(client, url_of(name, SITE[name], world), SITE[name])
        assert response.status_code == 403, name
        assert b"CSRF" in response.content, name


# Django admin: a model admin's standard views, the admin site's own pages, and our custom admin views.
MODEL_ADMIN_VIEWS = ("changelist", "add", "change", "delete", "history")
ADMIN_SITE_VIEWS = {
    "index",
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "jsi18n",
    "autocomplete",
    "app_list",
    "view_on_site",
    "(unnamed: (?P<url>.*)$)",  # the admin's catch-all: login first, then 404
    "(unnamed: <path:object_id>/)",  # each model's old change URL, redirecting to the new one
}
ADMIN_CUSTOM: dict[str, Route] = {
    "labeling_project_import": Route(get={"staff": OK}, post={"staff": OK}, objects={"project_id": "image_project_pk"}),
    "exports_exportrun_export_now": Route(post={"staff": REDIRECT}),
    "auth_user_password_change": Route(get={"staff": OK}, post={"staff": OK}, objects={"id": "annotator_pk"}),
}


# django-simple-history's page of one recorded version of an object, on the admins of the audited models.
HISTORY_MODELS = (Project, Membership, Vote, Preference, Review)
HISTORY_VERSION_VIEWS = {f"{model._meta.app_label}_{model._meta.model_name}_simple_history" for model in HISTORY_MODELS}


def check_sent_to_a_login_page(response, actor: str, context: str) -> None:
    """Anonymous visitors go to the site's login; logged-in non-staff to the admin's (which leads there too)."""
    login = reverse("accounts-login") if actor == "anonymous" else reverse("admin:login")
    assert response.status_code == 302, (context, actor, response.status_code)
    assert response["Location"].startswith(login), (context, actor, response["Location"])


def model_admin_names() -> set[str]:
    return {
        f"{model._meta.app_label}_{model._meta.model_name}_{view}"
        for model in admin.site._registry
        for view in MODEL_ADMIN_VIEWS
    }


def test_every_admin_url_is_a_standard_admin_view_or_in_the_custom_table():
    names = admin_url_names()
    unknown = names - model_admin_names() - ADMIN_SITE_VIEWS - set(ADMIN_CUSTOM) - HISTORY_VERSION_VIEWS
    assert unknown == set(), "custom admin URLs without an entry in ADMIN_CUSTOM"
    assert set(ADMIN_CUSTOM) <= names


def _admin_objects(world: dict) -> dict[type, int]:
    """A primary key of each registered model, for its change, delete and history pages."""
    return {model: model.objects.order_by("pk").values_list("pk", flat=True).first() for model in admin.site._registry}


# Axes, the Quality page and the webhook deliveries write their records themselves: their admins refuse to add any,
# to staff too. API tokens are made by their owners on the account page, the only place their secret is shown.
MODELS_WITHOUT_ADD_PAGES = {"axes", "quality", "api.webhookdelivery", "accounts.apitoken"}


@pytest.mark.parametrize("actor", ACTORS)
def test_admin_pages_are_for_staff_only(world, actor):
    """Every model admin page: staff are served; everyone else is sent to the admin login, and sees nothing."""
    client = client_for(world["actors"][actor])
    pks = _admin_objects(world)
    checked = 0
    for model, pk in pks.items():
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls = [reverse(f"{info}_changelist")]
        if not {model._meta.app_label, model._meta.label_lower} & MODELS_WITHOUT_ADD_PAGES:
            urls.append(reverse(f"{info}_add"))
        if pk is not None:
            urls += [reverse(f"{info}_{view}", args=[pk]) for view in ("change", "delete", "history")]
        for url in urls:
            response = client.get(url)
            if actor == "staff":
                assert response.status_code == 200, (url, response.status_code)
            else:
                check_sent_to_a_login_page(response, actor, url)
            checked += 1
    assert checked > 40


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", ADMIN_CUSTOM)
def test_custom_admin_views_are_for_staff_only(world, actor, name):
    route = ADMIN_CUSTOM[name]
    world = world | {"annotator_pk": world["actors"]["annotator"].pk}
    url = reverse(f"admin:{name}", kwargs={kwarg: world[key] for kwarg, key in route.objects.items()})
    client = client_for(world["actors"][actor])
    for method, outcomes in (("GET", route.get), ("POST", route.post)):
        response = client.generic(method, url)
        if actor != "staff":
            check_sent_to_a_login_page(response, actor, f"{method} {url}")
        elif outcomes is None:
            assert response.status_code == NOT_ALLOWED, method
        else:
            assert response.status_code == outcomes["staff"], method


@pytest.mark.parametrize("actor", ACTORS)
def test_recorded_versions_in_the_admin_are_for_staff_only(world, actor):
    client = client_for(world["actors"][actor])
    for model in HISTORY_MODELS:
        version = model.history.order_by("history_id").first()
        url = reverse(
            f"admin:{model._meta.app_label}_{model._meta.model_name}_simple_history",
            args=[version.id, version.history_id],
        )
        response = client.get(url)
        if actor == "staff":
            assert response.status_code == OK, url
        else:
            check_sent_to_a_login_page(response, actor, url)
