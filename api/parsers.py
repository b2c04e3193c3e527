import io

from django.conf import settings
from rest_framework.parsers import JSONParser

from api.errors import RequestTooLarge


class SizeLimitedJSONParser(JSONParser):
    """DRF reads a JSON body from the request stream, past Django's DATA_UPLOAD_MAX_MEMORY_SIZE check on
    ``request.body``; this parser holds it to the same limit (also for bodies sent without a Content-Length)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise RequestTooLarge(size=None)
        return super().parse(io.BytesIO(data), media_type, parser_context)
