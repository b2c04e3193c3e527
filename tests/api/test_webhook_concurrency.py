"""Events when the last judgements of a batch arrive together, through the real views, on PostgreSQL."""

import pytest
from django.urls import reverse

from api.webhooks.models import WebhookDelivery, WebhookEndpoint
from labeling.models import PromptBatch, Task
from tests.factories import make_ready_task
from tests.labeling.test_concurrency import logged_in_members, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TASKS_PER_BATCH = 6
ROUNDS = 4


def vote(client, task):
    url = reverse("labeling-vote", args=[task.candidates.get().uid])
    return lambda: client.post(url, {"value": "up"}, HTTP_HX_REQUEST="true").status_code


def test_a_batch_whose_last_tasks_complete_together_is_announced_exactly_once(project, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    endpoint = WebhookEndpoint.objects.create(
        project=project, url="http://127.0.0.1:9/hooks", events=["task.completed", "batch.completed"]
    )
    members = logged_in_members(project, TASKS_PER_BATCH)
    for round_number in range(ROUNDS):
        batch = PromptBatch.objects.create(project=project, name=f"round {round_number}")
        tasks = [make_ready_task(project, candidates=1, batch=batch) for _ in range(TASKS_PER_BATCH)]

        results = run_together([vote(client, task) for (_, client), task in zip(members, tasks, strict=True)])
        assert results == [200] * TASKS_PER_BATCH
        assert set(Task.objects.filter(batch=batch).values_list("status", flat=True)) == {Task.Status.COMPLETE}

    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert deliveries.filter(event_type="task.completed").count() == ROUNDS * TASKS_PER_BATCH
    batch_events = deliveries.filter(event_type="batch.completed")
    announced = sorted(delivery.payload["data"]["batch"]["name"] for delivery in batch_events)
    assert announced == [f"round {n}" for n in range(ROUNDS)]
