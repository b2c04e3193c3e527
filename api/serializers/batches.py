from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.common import StrictSerializer
from api.serializers.projects import TaskCountsSerializer


@extend_schema_field(
    {
        "type": "object",
        "properties": {"prompt": {"type": "string", "minLength": 1}},
        "required": ["prompt"],
        "additionalProperties": True,
    }
)
class PromptRowField(serializers.JSONField):
    """One row as the importer reads a JSONL line: its checks (and their line-numbered reasons) stay there."""


class BatchRowsSerializer(StrictSerializer):
    """Prompts as JSON rows: each an object with ``prompt`` and any extra fields (text projects: ``response`` and
    ``confidence`` too), validated like an uploaded JSONL file whose line N is ``rows[N-1]``."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    generate = serializers.BooleanField(default=False, help_text="Queue generation for every prompt.")
    rows = serializers.ListField(child=PromptRowField(), allow_empty=False)


class BatchUploadSerializer(StrictSerializer):
    """A CSV (with a ``prompt`` column) or JSONL file, validated as the admin's import validates it."""

    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    generate = serializers.BooleanField(default=False, help_text="Queue generation for every prompt.")
    file = serializers.FileField(help_text="prompts.csv, prompts.jsonl or prompts.ndjson")


class BatchSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.SlugField()
    name = serializers.CharField()
    prompt_count = serializers.IntegerField(min_value=0)
    created_at = serializers.DateTimeField()
    tasks = TaskCountsSerializer(help_text="The batch's tasks by state.")
    url = serializers.URLField()
