from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from exports.models import ExportRun
from exports.tasks import export_enqueue


@admin.register(ExportRun)
class ExportRunAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "batch", "commit_id", "pushed", "created_at", "finished_at"]
    list_filter = ["status", "pushed"]
    search_fields = ["commit_id", "batch", "error_message"]
    list_select_related = ["project"]
    readonly_fields = ["counts", "commit_id", "batch", "started_at", "finished_at", "error_message"]

    def get_urls(self):
        export_now = self.admin_site.admin_view(require_POST(self.export_now_view))
        return [path("export-now/", export_now, name="exports_exportrun_export_now"), *super().get_urls()]

    def export_now_view(self, request):
        if not self.has_add_permission(request):
            messages.error(request, "You may not start exports.")
        else:
            export_enqueue()
            messages.success(request, "Export queued; it appears here when the worker picks it up.")
        return redirect(reverse("admin:exports_exportrun_changelist"))
