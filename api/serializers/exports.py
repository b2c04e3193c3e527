from rest_framework import serializers

from exports.models import ExportRun


class ExportRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    project = serializers.SlugField(allow_null=True, help_text="Null: a run of every project.")
    status = serializers.ChoiceField(choices=ExportRun.Status.choices)
    batch = serializers.CharField(allow_blank=True)
    counts = serializers.JSONField(help_text="Rows written per table, and new images.")
    commit_id = serializers.CharField(allow_blank=True)
    pushed = serializers.BooleanField()
    error_message = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    url = serializers.URLField()


class ExportQueuedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    runs = serializers.URLField(help_text="Where the run appears once the exports worker starts it.")
