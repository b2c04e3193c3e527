"""Pieces every endpoint shares: strict input, page parameters, and the error and page shapes of the schema."""

from collections.abc import Mapping

from django.conf import settings
from rest_framework import serializers

from api.pagination import MAX_ID, cursor_decode


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (a typo would otherwise be silently ignored)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                known = ", ".join(sorted(self.fields))
                raise serializers.ValidationError(
                    {name: [f"Unknown field: not taken here (the fields are: {known})."] for name in unknown}
                )
        return super().to_internal_value(data)


class PageParameters(StrictSerializer):
    cursor = serializers.CharField(required=False, help_text="next_cursor of the previous page; omit for the first.")
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Rows per page (default API_PAGE_SIZE, at most API_MAX_PAGE_SIZE).",
    )
    updated_since = serializers.DateTimeField(required=False, help_text="Only what changed at or after this time.")

    def validate_cursor(self, value: str):
        return cursor_decode(value)

    def validate_page_size(self, value: int) -> int:
        if value > settings.API_MAX_PAGE_SIZE:
            raise serializers.ValidationError(f"At most {settings.API_MAX_PAGE_SIZE} rows a page.")
        return value

    def validate(self, attrs: dict) -> dict:
        attrs.setdefault("page_size", settings.API_PAGE_SIZE)
        return attrs


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What is wrong, precisely.")
    errors = serializers.JSONField(required=False, help_text="Per field (or per line of a batch), when given.")


class PageSerializer(serializers.Serializer):
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next page; null: done.")
    next = serializers.URLField(allow_null=True, help_text="The next page's URL; null: done.")


def page_of(rows: serializers.BaseSerializer, name: str) -> type[serializers.Serializer]:
    """The schema of a page of ``rows`` (a serializer with ``many=True``), as a component called ``name``."""
    return type(name, (PageSerializer,), {"results": rows})
