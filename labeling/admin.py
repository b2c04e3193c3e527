from django import forms
from django.contrib import admin
from django.db.models import Count
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin import UserAdmin
from accounts.models import User
from labeling.admin_lists import LargeTableAdmin, count_of
from labeling.gold import GoldError, GoldTarget, gold_clean, gold_for_task, task_gold_set
from labeling.models import Candidate, Membership, Preference, Project, PromptBatch, Review, Task, Vote


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


class UserMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["project"]


# The user's page lists their projects; accounts knows nothing of projects, so the inline is added from here.
admin.site.unregister(User)


@admin.register(User)
class UserWithMembershipsAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, UserMembershipInline]


@admin.register(Project)
class ProjectAdmin(SimpleHistoryAdmin):
    list_display = ["name", "slug", "kind", "candidates_per_task", "votes_per_candidate", "member_count", "task_count"]
    list_filter = ["kind", "allow_free_prompts"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "kind"]}),
        (
            "Annotation",
            {
                "fields": [
                    "candidates_per_task",
                    "votes_per_candidate",
                    "max_judgements",
                    "gold_share",
                    "allow_free_prompts",
                    "forbid_self_voting",
                ]
            },
        ),
        ("Arena", {"fields": ["arena_models"]}),
        (
            "Image generation",
            {
                "fields": [
                    "image_model",
                    "image_steps",
                    "image_guidance",
                    "image_width",
                    "image_height",
                    "negative_prompt",
                    "scheduler",
                ]
            },
        ),
        (
            "LLM answers",
            {
                "fields": [
                    "text_model",
                    "system_prompt",
                    "temperature",
                    "max_tokens",
                    "review_threshold",
                    "audit_share",
                    "hedge_words",
                    "reviews_per_answer",
                ]
            },
        ),
        (
            "Quality thresholds",
            {
                "fields": [
                    "quality_min_items",
                    "quality_min_gold_accuracy",
                    "quality_min_agreement",
                    "quality_max_identical_share",
                    "quality_min_seconds",
                ]
            },
        ),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_members=Count("memberships", distinct=True), _tasks=Count("tasks", distinct=True))
        )

    @admin.display(ordering="_members", description="members")
    def member_count(self, obj: Project) -> int:
        return obj._members

    @admin.display(ordering="_tasks", description="tasks")
    def task_count(self, obj: Project) -> int:
        return obj._tasks


@admin.register(PromptBatch)
class PromptBatchAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "prompt_count", "uploaded_by", "created_at"]
    list_filter = ["project"]
    search_fields = ["name"]
    list_select_related = ["project", "uploaded_by"]


class CandidateInline(admin.TabularInline):
    model = Candidate
    extra = 0
    fields = ["index", "uid", "image", "model_name", "seed", "review_state", "confidence"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


class TaskAdminForm(forms.ModelForm):
    """The task's gold is checked as the batch import checks it (labeling/gold.py); empty makes it ordinary."""

    class Meta:
        model = Task
        fields = ["project", "prompt", "source", "batch", "created_by", "status", "extra", "gold"]
        help_texts = {
            "gold": (
                'Leave empty for an ordinary task. Images: {"ratings": {"0": "good", "2": "bad"}, "best": 1} '
                '("best" may be "tie" or "all_bad"); LLM answers: {"decisions": {"0": {"decision": "correct", '
                '"text": "the accepted answer"}}} (decision: accept, correct or reject).'
            )
        }

    def clean(self):
        cleaned = super().clean()
        gold, project = cleaned.get("gold"), cleaned.get("project")
        if gold is None or project is None:
            return cleaned
        try:
            if self.instance.pk:
                cleaned["gold"] = gold_for_task(gold, task=self.instance, project=project)
            else:
                cleaned["gold"] = gold_clean(gold, target=GoldTarget.for_candidates(project, {}))
        except GoldError as exc:
            self.add_error("gold", str(exc))
        return cleaned


class GoldListFilter(admin.SimpleListFilter):
    title = "gold"
    parameter_name = "gold"

    def lookups(self, request, model_admin):
        return [("yes", "Gold tasks"), ("no", "Ordinary tasks")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(gold__isnull=self.value() == "no")
        return queryset


@admin.register(Task)
class TaskAdmin(LargeTableAdmin):
    form = TaskAdminForm
    list_display = [
        "short_prompt",
        "project",
        "status",
        "source",
        "is_gold",
        "created_by",
        "candidate_count",
        "created_at",
    ]
    list_filter = ["status", "source", GoldListFilter, "project"]
    search_fields = ["prompt"]
    list_select_related = ["project", "created_by"]
    raw_id_fields = ["batch", "created_by"]
    inlines = [CandidateInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_candidates=count_of(Candidate.objects.all(), "task"))

    def save_model(self, request, obj: Task, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if "gold" in form.changed_data:
            # A gold task's accepted answers go to review, where the queue hands them to every reviewer.
            task_gold_set(task=obj, gold=obj.gold)

    @admin.display(boolean=True, description="gold")
    def is_gold(self, obj: Task) -> bool:
        return obj.gold is not None

    @admin.display(description="prompt")
    def short_prompt(self, obj: Task) -> str:
        return obj.prompt[:80]

    @admin.display(ordering="_candidates", description="candidates")
    def candidate_count(self, obj: Task) -> int:
        return obj._candidates


@admin.register(Candidate)
class CandidateAdmin(LargeTableAdmin):
    list_display = ["uid", "task", "index", "model_name", "seed", "review_state", "confidence", "up", "down"]
    list_filter = ["review_state", "task__project"]
    search_fields = ["uid", "task__prompt", "text"]
    list_select_related = ["task"]
    raw_id_fields = ["task"]
    readonly_fields = ["uid", "created_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _up=count_of(Vote.objects.filter(value=Vote.Value.UP), "candidate"),
                _down=count_of(Vote.objects.filter(value=Vote.Value.DOWN), "candidate"),
            )
        )

    @admin.display(ordering="_up", description="👍")
    def up(self, obj: Candidate) -> int:
        return obj._up

    @admin.display(ordering="_down", description="👎")
    def down(self, obj: Candidate) -> int:
        return obj._down


@admin.register(Vote)
class VoteAdmin(LargeTableAdmin, SimpleHistoryAdmin):
    list_display = ["user", "candidate", "value", "created_at", "updated_at"]
    history_list_display = ["value"]
    list_filter = ["value", "candidate__task__project"]
    search_fields = ["user__username", "candidate__uid"]
    list_select_related = ["user", "candidate"]
    raw_id_fields = ["user", "candidate"]


@admin.register(Preference)
class PreferenceAdmin(LargeTableAdmin, SimpleHistoryAdmin):
    list_display = ["user", "task", "choice", "chosen", "updated_at"]
    history_list_display = ["choice", "chosen"]
    list_filter = ["choice", "task__project"]
    search_fields = ["user__username", "task__prompt"]
    list_select_related = ["user", "task", "chosen"]
    raw_id_fields = ["user", "task", "chosen"]


@admin.register(Review)
class ReviewAdmin(LargeTableAdmin, SimpleHistoryAdmin):
    list_display = ["reviewer", "candidate", "decision", "created_at", "updated_at"]
    history_list_display = ["decision", "corrected_text"]
    list_filter = ["decision", "candidate__task__project"]
    search_fields = ["reviewer__username", "original_text", "corrected_text"]
    list_select_related = ["reviewer", "candidate"]
    raw_id_fields = ["reviewer", "candidate"]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "project", "role", "created_at"]
    history_list_display = ["role", "paused_at", "excluded_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__name"]
    list_select_related = ["user", "project"]
    autocomplete_fields = ["user", "project"]
