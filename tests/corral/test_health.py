from datetime import timedelta

from django.utils import timezone

from generation.models import WorkerHeartbeat
from generation.tasks import heartbeat


def test_healthz_is_public_and_reports_every_part(client, db):
    heartbeat.apply()
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    for part in ("database", "broker", "channel_layer", "worker"):
        assert body[part]["ok"] is True, part


def test_healthz_is_503_without_a_recent_worker_heartbeat(client, db):
    WorkerHeartbeat.objects.create(hostname="old-worker", seen_at=timezone.now() - timedelta(hours=1))
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["worker"]["ok"] is False
    assert "last heartbeat" in body["worker"]["error"]
    assert body["database"]["ok"] is True
