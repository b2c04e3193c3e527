from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from api.webhooks.addresses import receiver_url_problem
from api.webhooks.events import delivery_send_again
from api.webhooks.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointAdminForm(forms.ModelForm):
    url = forms.URLField(label="receiver URL", max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["project", "url", "events", "description"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if problem := receiver_url_problem(url):
            raise ValidationError(problem)
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointAdminForm
    list_display = ["url", "project", "event_list", "created_at"]
    list_filter = ["project"]
    readonly_fields = ["secret", "created_by", "created_at"]

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: written by events and the workers, read here; a failed delivery may be sent again."""

    list_display = [
        "message_id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "short_error",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", "endpoint__project"]
    search_fields = ["message_id", "endpoint__url"]
    list_select_related = ["endpoint__project"]
    actions = ["send_again"]
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]

    @admin.display(description="last error")
    def short_error(self, delivery: WebhookDelivery) -> str:
        return delivery.last_error[:120]

    @admin.action(description="Send the selected failed deliveries again")
    def send_again(self, request, queryset):
        sent = sum(delivery_send_again(delivery=delivery) for delivery in queryset)
        messages.info(request, f"{sent} failed deliveries will be sent again; the others were not failed.")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
