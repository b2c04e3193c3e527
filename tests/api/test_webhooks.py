"""Webhooks end to end: a manager registers a real receiver on loopback, real events happen through the pages,
and the signed deliveries reach it, also when it was down for the first attempts."""

import pytest
from django.test import Client
from django.urls import reverse
from standardwebhooks import Webhook

from api.webhooks.models import WebhookDelivery, WebhookEndpoint
from api.webhooks.tasks import webhook_deliver_due
from exports.models import ExportRun
from exports.run import export_run
from labeling.models import Candidate, Membership, PromptBatch, Task
from tests.api.conftest import time_passes
from tests.factories import make_ready_task, member

pytestmark = pytest.mark.usefixtures("loopback_receivers_allowed", "celery_runs_tasks_inline")

ALL_EVENTS = [event.value for event in WebhookEndpoint.Event]


def register(client, project, url: str, events=ALL_EVENTS):
    response = client.post(reverse("api-webhooks", args=[project.slug]), {"url": url, "events": events})
    assert response.status_code == 302, response.content.decode()
    return WebhookEndpoint.objects.get(project=project, url=url)


def verified_events(receiver) -> list[tuple[str, str]]:
    """(webhook-id, event type) of every request the receiver got, each checked with the standardwebhooks library
    against the secret of the endpoint it was sent for."""
    events = []
    for request in receiver.received:
        delivery = WebhookDelivery.objects.select_related("endpoint").get(message_id=request.headers["webhook-id"])
        payload = Webhook(delivery.endpoint.secret).verify(request.body, request.headers)
        events.append((request.headers["webhook-id"], payload["type"]))
    return events


def vote(client, candidate, value="up"):
    response = client.post(reverse("labeling-vote", args=[candidate.uid]), {"value": value})
    assert response.status_code in (200, 302), response.content.decode()


@pytest.fixture
def boss(project, text_project):
    """A manager of the image and the text project."""
    boss = member(project, "boss", role=Membership.Role.MANAGER)
    Membership.objects.create(user=boss, project=text_project, role=Membership.Role.MANAGER)
    return boss


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_is_down_gets_every_event_once_it_is_back_each_id_once(
    client, receiver, boss, annotator, project, text_project
):
    client.force_login(boss)
    image_hooks = register(client, project, receiver.url)
    text_hooks = register(client, text_project, receiver.url, events=["review.completed"])

    # A batch of one task: two 👍 complete the task, and with it the batch.
    batch = PromptBatch.objects.create(project=project, name="herons.csv", prompt_count=1)
    task = make_ready_task(project, candidates=2, batch=batch)
    annotator_client = Client()
    annotator_client.force_login(annotator)
    for candidate in task.candidates.all():
        vote(annotator_client, candidate)
    # An answer with all its reviews.
    answer_task = Task.objects.create(project=text_project, prompt="Capital of Peru?", source="batch", status="ready")
    answer = Candidate.objects.create(
        task=answer_task, index=0, text="Lima.", review_state=Candidate.ReviewState.NEEDS_REVIEW
    )
    client.post(reverse("labeling-review-save", args=[answer.uid]), {"decision": "accept"})
    # And the test button.
    client.post(reverse("api-webhook-test", args=[project.slug, image_hooks.pk]))

    deliveries = WebhookDelivery.objects.order_by("pk")
    assert sorted(deliveries.values_list("event_type", flat=True)) == sorted(
        ["task.completed", "batch.completed", "review.completed", "webhook.test"]
    )
    # Each was tried when its event committed, and waits for its retry.
    assert {(d.status, d.attempts) for d in deliveries} == {("pending", 1)}
    assert all("Could not deliver" in d.last_error for d in deliveries)
    assert webhook_deliver_due() == 0, "nothing is due before its time"

    time_passes()
    assert webhook_deliver_due() == 4
    assert {(d.status, d.attempts) for d in deliveries.all()} == {("pending", 2)}

    receiver.start()
    time_passes()
    assert webhook_deliver_due() == 4
    assert {(d.status, d.attempts, d.last_status_code) for d in deliveries.all()} == {("succeeded", 3, 204)}
    got = verified_events(receiver)
    assert sorted(got) == sorted(deliveries.values_list("message_id", "event_type"))

    # Nothing is sent twice, however often the beat comes by.
    time_passes()
    assert webhook_deliver_due() == 0
    assert len(receiver.received) == 4

    by_type = {request.payload["type"]: request.payload for request in receiver.received}
    completed = by_type["task.completed"]["data"]["task"]
    assert (completed["id"], completed["status"], completed["batch"]) == (task.pk, "complete", batch.pk)
    assert by_type["batch.completed"]["data"]["batch"]["tasks"] == {"complete": 1, "failed": 0}
    assert by_type["review.completed"]["data"]["answer"]["uid"] == str(answer.uid)
    assert by_type["review.completed"]["data"]["reviews"][0]["decision"] == "accept"
    assert by_type["review.completed"]["data"]["project"]["slug"] == text_project.slug
    review_ids = {request.headers["webhook-id"] for request in receiver.received if "review" in request.payload["type"]}
    assert review_ids == set(text_hooks.deliveries.values_list("message_id", flat=True))

    # The manager's delivery log shows each one.
    log = client.get(reverse("api-webhook", args=[project.slug, image_hooks.pk])).content.decode()
    for delivery in image_hooks.deliveries.all():
        assert delivery.message_id in log
    assert "Delivered" in log


@pytest.mark.django_db(transaction=True)
def test_exports_announce_success_and_failure(client, receiver, boss, project, settings, tmp_path):
    settings.OXEN_REPO_PATH = tmp_path / "dataset"
    settings.OXEN_CONFIG_DIR = tmp_path / "oxen-config"
    settings.OXEN_REMOTE = settings.OXEN_API_KEY = ""
    receiver.start()
    client.force_login(boss)
    register(client, project, receiver.url, events=["export.succeeded", "export.failed"])
    # An export killed before its commit, found by the next one: it failed; the next one succeeds.
    killed = ExportRun.objects.create(project=project, status=ExportRun.Status.RUNNING, batch="killed-run")

    run = export_run(project=project)

    events = {request.payload["type"]: request.payload["data"]["export"] for request in receiver.received}
    assert events["export.failed"]["id"] == killed.pk
    assert "stopped before its commit" in events["export.failed"]["error_message"]
    assert events["export.succeeded"]["id"] == run.pk
    assert len(verified_events(receiver)) == 2


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_keeps_failing_is_retried_for_a_day_then_given_up_and_can_be_sent_again(
    client, receiver, boss, project, settings
):
    receiver.status = 503
    receiver.start()
    client.force_login(boss)
    endpoint = register(client, project, receiver.url)
    client.post(reverse("api-webhook-test", args=[project.slug, endpoint.pk]))
    delivery = endpoint.deliveries.get()

    waits = []
    while (delivery := WebhookDelivery.objects.get(pk=delivery.pk)).status == "pending":
        waits.append(delivery.next_attempt_at - delivery.last_attempt_at)
        time_passes()
        webhook_deliver_due()

    assert delivery.status == "failed"
    assert delivery.attempts == settings.WEBHOOK_MAX_ATTEMPTS
    assert delivery.last_error == "The receiver answered HTTP 503: receiver says no"
    # Each wait at least four times the one before until the cap, and a day in all before giving up.
    assert [round(wait.total_seconds()) for wait in waits[:4]] == [10, 40, 160, 640]
    assert sum(wait.total_seconds() for wait in waits) >= 24 * 3600
    assert len(receiver.received) == settings.WEBHOOK_MAX_ATTEMPTS
    assert len({request.headers["webhook-id"] for request in receiver.received}) == 1

    receiver.status = 200
    client.post(reverse("api-webhook-delivery-send-again", args=[project.slug, delivery.pk]))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)
    assert receiver.received[-1].headers["webhook-id"] == delivery.message_id


@pytest.mark.django_db(transaction=True)
def test_a_completing_vote_with_no_webhook_writes_no_delivery(client, annotator, project):
    task = make_ready_task(project, candidates=1)
    client.force_login(annotator)
    vote(client, task.candidates.get())
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETE
    assert not WebhookDelivery.objects.exists()
