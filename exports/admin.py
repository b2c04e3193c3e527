from django.contrib import admin

from exports.models import ExportRun


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "batch", "commit_id", "pushed", "created_at", "finished_at"]
    list_filter = ["status", "pushed"]
    search_fields = ["commit_id", "batch", "error_message"]
    list_select_related = ["project"]
    readonly_fields = ["counts", "commit_id", "batch", "started_at", "finished_at", "error_message"]
