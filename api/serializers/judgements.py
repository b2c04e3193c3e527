"""Judgement rows in the dataset's columns: the fields come from exports/tables/contract.py, stated once there."""

import pyarrow as pa
from rest_framework import serializers

from exports.tables.contract import COLUMNS

# Where the API's meaning differs from the dataset's: its images are on this site, not in the repository yet.
API_MEANING = {
    "path": "URL of the image on this site (empty for text answers)",
    "jpg_0": "URL of the first image on this site",
    "jpg_1": "URL of the second image on this site",
}


def _field(kind: pa.DataType, meaning: str) -> serializers.Field:
    if pa.types.is_boolean(kind):
        return serializers.BooleanField(help_text=meaning)
    if pa.types.is_timestamp(kind):
        return serializers.DateTimeField(help_text=meaning)
    if pa.types.is_integer(kind):
        return serializers.IntegerField(allow_null=True, help_text=meaning)
    if pa.types.is_floating(kind):
        return serializers.FloatField(allow_null=True, help_text=meaning)
    return serializers.CharField(allow_null=True, allow_blank=True, help_text=meaning)


def _row_serializer(table: str, name: str) -> type[serializers.Serializer]:
    return type(
        name,
        (serializers.Serializer,),
        {column: _field(kind, API_MEANING.get(column, meaning)) for column, kind, meaning in COLUMNS[table]},
    )


VoteRowSerializer = _row_serializer("votes", "VoteRowSerializer")
PreferenceRowSerializer = _row_serializer("preferences", "PreferenceRowSerializer")
TextPairRowSerializer = _row_serializer("text_dpo", "TextPairRowSerializer")
ReviewRowSerializer = _row_serializer("reviews", "ReviewRowSerializer")
