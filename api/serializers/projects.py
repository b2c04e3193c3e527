from rest_framework import serializers

from labeling.models import Membership, Project, Task

SETTINGS_FIELDS = [
    "candidates_per_task",
    "votes_per_candidate",
    "max_judgements",
    "gold_share",
    "allow_free_prompts",
    "forbid_self_voting",
    "image_model",
    "image_steps",
    "image_guidance",
    "image_width",
    "image_height",
    "negative_prompt",
    "scheduler",
    "text_model",
    "system_prompt",
    "temperature",
    "max_tokens",
    "review_threshold",
    "audit_share",
    "reviews_per_answer",
]


class ProjectSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = SETTINGS_FIELDS


class ProjectSerializer(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Project.Kind.choices)
    role = serializers.ChoiceField(choices=Membership.Role.choices, help_text="Your role in the project.")
    url = serializers.URLField()


# Tasks by state, one field per state.
TaskCountsSerializer = type(
    "TaskCountsSerializer",
    (serializers.Serializer,),
    {status.value: serializers.IntegerField(min_value=0) for status in Task.Status},
)


class ProjectCountsSerializer(serializers.Serializer):
    tasks = TaskCountsSerializer()
    batches = serializers.IntegerField(min_value=0)
    members = serializers.IntegerField(min_value=0)
    votes = serializers.IntegerField(min_value=0, help_text="Thumbs up or down, withdrawn ones included.")
    picks = serializers.IntegerField(min_value=0, help_text="Best-of-N, tie or all-bad judgements.")
    reviews = serializers.IntegerField(min_value=0)


class ProjectDetailSerializer(ProjectSerializer):
    description = serializers.CharField(allow_blank=True)
    settings = ProjectSettingsSerializer()
    counts = ProjectCountsSerializer()
