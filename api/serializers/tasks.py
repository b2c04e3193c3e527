from rest_framework import serializers

from api.pagination import MAX_ID
from api.serializers.common import PageParameters
from labeling.models import Candidate, Task


class TaskParameters(PageParameters):
    state = serializers.ChoiceField(choices=Task.Status.choices, required=False)
    batch = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_ID, help_text="Only tasks of this prompt batch."
    )


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    prompt = serializers.CharField()
    state = serializers.ChoiceField(choices=Task.Status.choices)
    source = serializers.ChoiceField(choices=Task.Source.choices)
    batch = serializers.IntegerField(allow_null=True, help_text="The prompt batch it came in, if any.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.URLField()


class CandidateSerializer(serializers.Serializer):
    uid = serializers.UUIDField()
    index = serializers.IntegerField(min_value=0)
    image = serializers.URLField(allow_null=True, help_text="The image's URL on this site (image projects).")
    text = serializers.CharField(allow_blank=True, help_text="The answer (text projects).")
    model = serializers.CharField(allow_blank=True)
    seed = serializers.IntegerField(allow_null=True)
    parameters = serializers.JSONField(help_text="Generation parameters: steps, guidance, size, scheduler…")
    confidence = serializers.FloatField(allow_null=True, min_value=0, max_value=1)
    review_state = serializers.ChoiceField(choices=Candidate.ReviewState.choices)


class TaskDetailSerializer(TaskSerializer):
    project = serializers.SlugField()
    extra = serializers.JSONField(help_text="Extra fields of the imported row.")
    candidates = CandidateSerializer(many=True)
