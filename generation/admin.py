from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from generation.arena import arena_model_problems
from generation.batches import prompt_batch_import
from generation.forms import PromptImportForm
from generation.models import GenerationJob, WorkerHeartbeat
from generation.services import GenerationRefused, generation_requeue
from labeling.admin import ProjectAdmin, TaskAdmin
from labeling.importers import PromptFileError
from labeling.models import Project, Task


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


# Importing a batch and requeueing tasks queue generation, so labeling's admin pages get them here.
admin.site.unregister([Project, Task])


class ArenaCheckedProjectForm(forms.ModelForm):
    """A project whose arena models changed is saved only when each can be used: a local image model must be a
    pipeline folder, an LLM must be offered by its server (asked with ``models.list()``)."""

    class Meta:
        model = Project
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose what is shown)

    def clean(self):
        cleaned = super().clean()
        if {"arena_models", "kind"} & set(self.changed_data):
            planned = Project(
                kind=cleaned.get("kind") or Project.Kind.IMAGE, arena_models=cleaned.get("arena_models", "")
            )
            if len(planned.arena_model_list) >= 2:
                for problem in arena_model_problems(planned):
                    self.add_error("arena_models", problem)
        return cleaned


@admin.register(Project)
class GeneratingProjectAdmin(ProjectAdmin):
    change_form_template = "admin/generation/project_change_form.html"
    form = ArenaCheckedProjectForm

    def get_urls(self):
        return [
            path(
                "<int:project_id>/import/",
                self.admin_site.admin_view(self.import_prompts_view),
                name="labeling_project_import",
            )
        ] + super().get_urls()

    def import_prompts_view(self, request, project_id: int):
        project = get_object_or_404(Project, pk=project_id)
        if not self.has_change_permission(request, project):
            raise PermissionDenied
        form = PromptImportForm(request.POST or None, request.FILES or None)
        errors = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = prompt_batch_import(
                    project=project,
                    filename=upload.name,
                    data=upload.read(),
                    uploaded_by=request.user,
                    name=form.cleaned_data["name"],
                    generate=form.cleaned_data["generate"],
                )
            except PromptFileError as exc:
                errors = exc.errors
            except GenerationRefused as exc:
                errors = [str(exc)]
            else:
                gold = f"; gold set on {batch.gold_tasks_set} existing tasks" if batch.gold_tasks_set else ""
                self.message_user(
                    request, f"Imported {batch.prompt_count} prompts into {project}{gold}.", messages.SUCCESS
                )
                return redirect(reverse("admin:labeling_project_change", args=[project.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "project": project,
            "form": form,
            "errors": errors,
            "title": f"Import prompts into {project}",
        }
        return TemplateResponse(request, "admin/generation/project_import.html", context)


@admin.register(Task)
class GeneratingTaskAdmin(TaskAdmin):
    actions = ["requeue_failed"]

    @admin.action(description="Requeue failed tasks (generate again)")
    def requeue_failed(self, request, queryset):
        queued, refused = 0, []
        for task in queryset.select_related("project"):
            try:
                generation_requeue(task=task, requested_by=request.user)
            except GenerationRefused as exc:
                refused.append(f"task {task.pk}: {exc}")
            else:
                queued += 1
        self.message_user(request, f"Queued {queued} task(s) for generation.", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not queued: " + "; ".join(refused), messages.WARNING)
