from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from api.webhooks.events import delivery_send_again, webhook_test_send
from api.webhooks.forms import WebhookEndpointForm
from api.webhooks.models import WebhookDelivery, WebhookEndpoint
from labeling.access import Capability, get_project_for_user
from labeling.models import Project

# Deliveries shown on an endpoint's page, newest first; the admin has them all.
DELIVERY_LOG_SIZE = 50


def _endpoint_for_manager(request, slug: str, pk: int) -> tuple[Project, WebhookEndpoint]:
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    return project, get_object_or_404(WebhookEndpoint, pk=pk, project=project)


@require_http_methods(["GET", "POST"])
def webhook_list(request, slug: str):
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    form = WebhookEndpointForm(request.POST or None, project=project, site_host=request.get_host())
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(commit=False)
        endpoint.project, endpoint.created_by = project, request.user
        endpoint.save()
        messages.success(request, "Webhook added. Give its signing secret to the receiver.")
        return redirect(endpoint)
    context = {"project": project, "form": form, "endpoints": project.webhook_endpoints.all()}
    return render(request, "api/webhooks.html", context, status=400 if form.errors else 200)


@require_GET
def webhook_detail(request, slug: str, pk: int):
    project, endpoint = _endpoint_for_manager(request, slug, pk)
    deliveries = endpoint.deliveries.order_by("-created_at", "-pk")[:DELIVERY_LOG_SIZE]
    return render(request, "api/webhook.html", {"project": project, "endpoint": endpoint, "deliveries": deliveries})


@require_POST
def webhook_test(request, slug: str, pk: int):
    _project, endpoint = _endpoint_for_manager(request, slug, pk)
    delivery = webhook_test_send(endpoint=endpoint)
    messages.success(request, f"Test event {delivery.message_id} queued; its outcome appears in the log below.")
    return redirect(endpoint)


@require_POST
def webhook_delete(request, slug: str, pk: int):
    project, endpoint = _endpoint_for_manager(request, slug, pk)
    endpoint.delete()
    messages.success(request, f"Webhook to {endpoint.url} removed, with its delivery log.")
    return redirect(reverse("api-webhooks", kwargs={"slug": project.slug}))


@require_POST
def webhook_delivery_send_again(request, slug: str, pk: int):
    project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk, endpoint__project=project)
    if delivery_send_again(delivery=delivery):
        messages.success(request, f"Delivery {delivery.message_id} will be sent again shortly, with the same id.")
    else:
        messages.error(
            request,
            f"Delivery {delivery.message_id} is {delivery.get_status_display().lower()}; "
            "only a failed delivery can be sent again.",
        )
    return redirect(delivery.endpoint)
