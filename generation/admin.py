from django.contrib import admin

from generation.models import GenerationJob, WorkerHeartbeat


@admin.register(GenerationJob)
class GenerationJobAdmin(admin.ModelAdmin):
    list_display = ["id", "task", "kind", "status", "progress_step", "progress_total", "created_at", "finished_at"]
    list_filter = ["status", "kind", "task__project"]
    search_fields = ["task__prompt", "error_message"]
    list_select_related = ["task"]
    raw_id_fields = ["task", "requested_by"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "seen_at"]
