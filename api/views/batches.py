import json

from django.db.models import Count
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from api.errors import Conflict
from api.pagination import iso
from api.parsers import SizeLimitedJSONParser
from api.serializers.batches import BatchRowsSerializer, BatchSerializer, BatchUploadSerializer
from api.serializers.common import ErrorSerializer
from api.views.base import ApiView, responses
from generation.batches import prompt_batch_import
from generation.services import GenerationRefused
from labeling.access import Capability, get_batch_for_user, get_project_for_user
from labeling.importers import PromptFileError
from labeling.models import PromptBatch, Task

ROWS_FILENAME = "rows.jsonl"


def batch_body(request, batch: PromptBatch) -> dict:
    counts = dict(batch.tasks.values_list("status").annotate(n=Count("pk")).order_by())
    return {
        "id": batch.pk,
        "project": batch.project.slug,
        "name": batch.name,
        "prompt_count": batch.prompt_count,
        "created_at": iso(batch.created_at),
        "tasks": {state.value: counts.get(state.value, 0) for state in Task.Status},
        "url": request.build_absolute_uri(reverse("api-batch", kwargs={"pk": batch.pk})),
    }


def _rows_as_jsonl(rows: list) -> bytes:
    """JSON rows as the JSONL file the importer reads: row i is line i + 1. ASCII escapes keep any half
    character (a lone surrogate) for the importer to name, instead of failing to encode here."""
    return "\n".join(json.dumps(row) for row in rows).encode()


class BatchCreate(ApiView):
    parser_classes = [SizeLimitedJSONParser, MultiPartParser]

    @extend_schema(
        summary="Import a prompt batch",
        description="Managers of the project, with a read-and-write token or a session. JSON rows or an uploaded "
        "CSV/JSONL file; all or nothing, like the admin's import: one bad row refuses the whole batch, and the "
        "answer lists every bad line (line N is rows[N-1]). With generate, each prompt's generation is queued.",
        request={"application/json": BatchRowsSerializer, "multipart/form-data": BatchUploadSerializer},
        responses=responses(
            {
                201: BatchSerializer,
                400: OpenApiResponse(
                    ErrorSerializer,
                    description="Bad input, or bad rows: then errors lists each as {line, reason} (line 0: the "
                    "whole file).",
                ),
                409: OpenApiResponse(ErrorSerializer, description="Generation cannot be queued; nothing was kept."),
            }
        ),
    )
    def post(self, request, slug: str):
        self.query_parameters()
        project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
        if request.content_type.startswith("multipart/"):
            form = BatchUploadSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            upload = form.validated_data["file"]
            filename, data = upload.name, upload.read()
        else:
            form = BatchRowsSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            filename, data = ROWS_FILENAME, _rows_as_jsonl(form.validated_data["rows"])
        try:
            batch = prompt_batch_import(
                project=project,
                filename=filename,
                data=data,
                uploaded_by=request.user,
                name=form.validated_data.get("name", ""),
                generate=form.validated_data["generate"],
            )
        except PromptFileError as exc:
            errors = [{"line": error.line, "reason": error.reason} for error in exc.errors]
            detail = f"The batch was not imported ({len(errors)} problem{'s' if len(errors) != 1 else ''}): {exc}."
            return Response({"detail": detail + " Nothing was written.", "errors": errors}, status=400)
        except GenerationRefused as exc:
            raise Conflict(f"{exc} The batch was not imported; nothing was written.") from None
        return Response(batch_body(request, batch), status=status.HTTP_201_CREATED)


class BatchDetail(ApiView):
    @extend_schema(
        summary="A prompt batch and its tasks' states",
        description="Managers of the batch's project.",
        responses=responses({200: BatchSerializer}),
    )
    def get(self, request, pk: int):
        self.query_parameters()
        batch = get_batch_for_user(user=request.user, pk=pk, capability=Capability.MANAGE)
        return Response(batch_body(request, batch))
