"""GET /healthz: the state of every part the site depends on."""

import asyncio
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from corral.celery import app as celery_app
from generation.models import WorkerHeartbeat

PROBE_TIMEOUT_SECONDS = 2.0


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"ok": True, "vendor": connection.vendor}


def _broker() -> dict:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=PROBE_TIMEOUT_SECONDS)
        transport = conn.transport_cls
    return {"ok": True, "transport": str(transport)}


async def _channel_round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "healthz.probe"})
    await asyncio.wait_for(layer.receive(channel), PROBE_TIMEOUT_SECONDS)


def _channel_layer() -> dict:
    async_to_sync(_channel_round_trip)()
    return {"ok": True, "backend": settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]}


def _worker() -> dict:
    last = WorkerHeartbeat.objects.order_by("-seen_at").first()
    if last is None:
        return {"ok": False, "error": "no worker heartbeat recorded yet"}
    age = timezone.now() - last.seen_at
    fresh = age <= timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS)
    result = {"ok": fresh, "hostname": last.hostname, "last_seen": last.seen_at.isoformat()}
    if not fresh:
        result["error"] = f"last heartbeat {int(age.total_seconds())} s ago"
    return result


CHECKS = {"database": _database, "broker": _broker, "channel_layer": _channel_layer, "worker": _worker}


@login_not_required
@never_cache
@require_GET
def healthz(request):
    report = {}
    for name, check in CHECKS.items():
        try:
            report[name] = check()
        except Exception as exc:  # a health probe reports every failure rather than raising
            report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    healthy = all(part["ok"] for part in report.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", **report}, status=200 if healthy else 503)
