"""Bad receiver URLs: each refused with a form error that names what is wrong, and nothing written."""

import pytest
from django.urls import reverse

from api.webhooks.models import WebhookDelivery, WebhookEndpoint
from api.webhooks.tasks import webhook_deliver
from tests.factories import member

REFUSED = [
    ("ftp://files.example.org/hook", "must start with http:// or https://"),
    ("hooks.example.org/corral", "must start with http:// or https://"),
    ("http:///nohost", "has no host name"),
    ("https://user:secret@hooks.example.org/", "must not carry a user name or password"),
    ("https://hooks.example.org:99999/", "port is not a number"),
    ("http://127.0.0.1:9000/hook", "is this server (127.0.0.1 is a loopback address)"),
    ("http://localhost/hook", "is a loopback address"),
    ("http://[::1]:8080/hook", "is this server (::1 is a loopback address)"),
    ("http://[::ffff:127.0.0.1]/hook", "is a loopback address"),
    ("http://0.0.0.0/hook", "unspecified address"),
    ("http://169.254.169.254/latest/meta-data/", "is a link-local address (169.254.169.254)"),
    ("http://testserver/hook", "is this site itself"),
]


@pytest.fixture
def boss(project):
    return member(project, "boss", role="manager")


@pytest.mark.parametrize(("url", "message"), REFUSED)
def test_a_receiver_url_that_is_not_http_or_points_at_this_server_is_refused(client, boss, project, url, message):
    client.force_login(boss)
    response = client.post(reverse("api-webhooks", args=[project.slug]), {"url": url, "events": ["task.completed"]})
    assert response.status_code == 400
    assert message in response.context["form"].errors["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_a_webhook_needs_at_least_one_event(client, boss, project, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    client.force_login(boss)
    response = client.post(reverse("api-webhooks", args=[project.slug]), {"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 400
    assert response.context["form"].errors["events"] == ["Choose at least one event to send to this URL."]
    assert not WebhookEndpoint.objects.exists()


def test_loopback_receivers_are_refused_unless_the_setting_allows_them(client, boss, project, settings):
    assert settings.WEBHOOK_ALLOW_LOOPBACK is False
    client.force_login(boss)
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    response = client.post(
        reverse("api-webhooks", args=[project.slug]), {"url": "http://127.0.0.1:9/hook", "events": ["task.completed"]}
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in client.get(response["Location"]).content.decode()

    # A URL that became refused is checked again before each attempt: the delivery fails at once, unsent.
    settings.WEBHOOK_ALLOW_LOOPBACK = False
    client.post(reverse("api-webhook-test", args=[project.slug, endpoint.pk]))
    delivery = WebhookDelivery.objects.get()
    webhook_deliver(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_error == "Not sent: The host '127.0.0.1' is this server (127.0.0.1 is a loopback address)."


def test_the_same_url_twice_in_a_project_is_refused(client, boss, project, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    client.force_login(boss)
    data = {"url": "http://127.0.0.1:9/hook", "events": ["task.completed"]}
    client.post(reverse("api-webhooks", args=[project.slug]), data)
    response = client.post(reverse("api-webhooks", args=[project.slug]), data)
    assert response.status_code == 400
    assert "already registered" in response.context["form"].errors["url"][0]
    assert WebhookEndpoint.objects.count() == 1


def test_the_project_page_links_managers_to_the_webhooks(client, boss, annotator, project):
    client.force_login(boss)
    assert reverse("api-webhooks", args=[project.slug]) in client.get(project.get_absolute_url()).content.decode()
    client.force_login(annotator)
    assert reverse("api-webhooks", args=[project.slug]) not in client.get(project.get_absolute_url()).content.decode()


def test_staff_send_failed_deliveries_again_from_the_admin(client, staff, project, settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    endpoint = WebhookEndpoint.objects.create(project=project, url="http://127.0.0.1:9/hook", events=["task.completed"])
    failed = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="task.completed", payload={}, status="failed", attempts=11
    )
    delivered = WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="task.completed", payload={}, status="succeeded"
    )
    client.force_login(staff)
    response = client.post(
        reverse("admin:api_webhookdelivery_changelist"),
        {"action": "send_again", "_selected_action": [failed.pk, delivered.pk]},
        follow=True,
    )
    assert "1 failed deliveries will be sent again" in response.content.decode()
    failed.refresh_from_db()
    delivered.refresh_from_db()
    assert (failed.status, failed.attempts, failed.next_attempt_at is not None) == ("pending", 0, True)
    assert delivered.status == "succeeded"
