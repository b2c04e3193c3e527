from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from api.webhooks.addresses import receiver_url_problem
from api.webhooks.models import WebhookEndpoint
from labeling.models import Project


class WebhookEndpointForm(forms.ModelForm):
    url = forms.CharField(label="Receiver URL", max_length=2000)
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event to send to this URL."},
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "events", "description"]

    def __init__(self, *args, project: Project, site_host: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.project, self.site_host = project, site_host

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        if problem := receiver_url_problem(url, site_host=self.site_host):
            raise ValidationError(problem)
        URLValidator(schemes=["http", "https"], message="This is not a valid URL.")(url)
        if WebhookEndpoint.objects.filter(project=self.project, url=url).exists():
            raise ValidationError("This URL is already registered for this project; change its events there.")
        return url
