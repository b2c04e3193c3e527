from django.contrib import admin

from quality.models import QualityAction, QualitySnapshot


@admin.register(QualityAction)
class QualityActionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "project", "member", "kind", "actor", "reason"]
    list_filter = ["kind", "project"]
    search_fields = ["member__username", "actor__username", "reason"]
    readonly_fields = ["project", "member", "actor", "kind", "reason", "created_at"]

    def has_add_permission(self, request) -> bool:
        # Actions are taken on the Quality page, which records them; the log is not edited by hand.
        return False


@admin.register(QualitySnapshot)
class QualitySnapshotAdmin(admin.ModelAdmin):
    list_display = ["project", "computed_at", "seconds", "requested_at"]
    readonly_fields = ["project", "figures", "computed_at", "seconds", "requested_at", "error_message"]

    def has_add_permission(self, request) -> bool:
        return False
