"""The base of every API view: strict query parameters, the body size limit, and the documented refusals."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, Throttled, ValidationError
from rest_framework.views import APIView

from api.errors import RequestTooLarge
from api.serializers.common import ErrorSerializer


class ApiView(APIView):
    query_serializer_class = None  # a StrictSerializer of the query parameters, or None for none

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise RequestTooLarge(size=int(length))

    def throttled(self, request, wait):
        raise Throttled(
            wait=wait,
            detail=(
                f"Too many requests: at most {settings.API_REQUESTS_PER_MINUTE} a minute per API token "
                "(or per person, with a session); see the Retry-After header."
            ),
        )

    def query_parameters(self) -> dict:
        if self.query_serializer_class is None:
            if self.request.query_params:
                names = ", ".join(sorted(self.request.query_params))
                raise ValidationError({"detail": f"This endpoint takes no query parameters (got: {names})."})
            return {}
        serializer = self.query_serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _refusal(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


REFUSALS = {
    400: _refusal("Bad input: malformed JSON, a wrong type, an unknown field or parameter."),
    401: _refusal("No credentials, or an unknown, malformed, revoked or expired token."),
    403: _refusal("Your role in the project does not allow this, a read token was used to write, or CSRF failed."),
    404: _refusal("No such object in your projects."),
    413: _refusal("The request body is over DATA_UPLOAD_MAX_MEMORY_SIZE."),
    415: _refusal("A request body in a format this endpoint does not take (see its request body types)."),
    429: _refusal("Too many requests; wait the Retry-After header's seconds."),
}


def responses(ok: dict) -> dict:
    """``ok`` (status → serializer or response) with every refusal the API gives documented beside it."""
    return {**REFUSALS, **ok}


class NotFoundView(ApiView):
    """Any other path under /api/v1/: a JSON 404 like the API's own, never the site's HTML page."""

    http_method_names = ["get", "post"]

    @extend_schema(exclude=True)
    def get(self, request, path: str):
        raise NotFound(f"No such API endpoint: {request.path} (see /api/v1/docs).")

    post = get
