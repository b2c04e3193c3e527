"""Votes, picks and reviews of a project in the dataset's columns, built by the export's own row builders.

Rows are read as the export reads them (``raw_values``: driver values, no model instances) one keyset page
at a time, on the (updated_at, id) indexes.
"""

import uuid
from datetime import datetime

from django.urls import reverse
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework.response import Response

from api.pagination import UtcIsoText, page_body, page_query
from api.serializers.common import PageParameters, page_of
from api.serializers.judgements import (
    PreferenceRowSerializer,
    ReviewRowSerializer,
    TextPairRowSerializer,
    VoteRowSerializer,
)
from api.views.base import ApiView, responses
from exports.due import raw_values
from exports.tables.preferences import (
    PREFERENCE_FIELDS,
    candidates_by_task,
    pair_rows,
    preference_pairs,
    preferences_marked,
)
from exports.tables.reviews import REVIEW_FIELDS, review_row, reviews_marked
from exports.tables.values import uuid_text
from exports.tables.votes import VOTE_FIELDS, vote_row, votes_marked
from labeling.access import Capability, get_project_for_user
from labeling.models import Preference, Review, Vote

# Read as text the database formats (UtcIsoText), under the names the row builders read.
TIME_COLUMNS = {"created_at": "created_at_text", "updated_at": "updated_at_text"}
ACCESS = "Managers of the project (the same rows the dataset export writes)."


class ImageUrls:
    """Candidate image URLs by uid, from one reversed URL (reversing per row would cost more than the row)."""

    PLACEHOLDER = uuid.UUID(int=0)

    def __init__(self, request):
        template = reverse("labeling-candidate-image", kwargs={"uid": self.PLACEHOLDER})
        self.template = request.build_absolute_uri(template).replace(str(self.PLACEHOLDER), "{}")

    def __call__(self, uid) -> str:
        return self.template.format(uuid_text(uid))


class JudgementList(ApiView):
    query_serializer_class = PageParameters
    source = None  # the judgement model
    project_path = ""  # from it to its project
    fields: list[str] = []  # the export's fields for its row builder
    marked = None  # the export's function adding the marks its rows carry (gold, excluded)

    def page(self, request, slug: str) -> tuple[list[dict], int]:
        """The page's judgements (driver values, times as ISO text; one more than the page size when another page
        follows), and the page size."""
        params = self.query_parameters()
        project = get_project_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
        queryset = type(self).marked(self.source.objects.filter(**{self.project_path: project}))
        if "updated_since" in params:
            queryset = queryset.filter(updated_at__gte=params["updated_since"])
        size = params["page_size"]
        queryset = queryset.annotate(**{text: UtcIsoText(column) for column, text in TIME_COLUMNS.items()})
        page = page_query(queryset, after=params.get("cursor"), size=size)
        fields = [TIME_COLUMNS.get(field, field) for field in self.fields]
        return raw_values(page, fields, names=self.fields), size

    def answer(self, request, sources: list[dict], size: int, rows: list[dict]) -> Response:
        last = None
        if len(sources) > size:
            last = (datetime.fromisoformat(sources[size - 1]["updated_at"]), sources[size - 1]["pk"])
        return Response(page_body(request, rows, next_position=last))


class VoteList(JudgementList):
    source = Vote
    project_path = "candidate__task__project"
    fields = VOTE_FIELDS
    marked = votes_marked

    @extend_schema(
        summary="Votes (thumbs up or down) in the dataset's votes columns",
        description=f"{ACCESS} Oldest change first; withdrawn votes have rating 'withdrawn'.",
        parameters=[PageParameters],
        responses=responses({200: page_of(VoteRowSerializer(many=True), "VotePage")}),
    )
    def get(self, request, slug: str):
        sources, size = self.page(request, slug)
        image_url = ImageUrls(request)
        rows = [
            vote_row(vote, path=image_url(vote["candidate__uid"]) if vote["candidate__image"] else None)
            for vote in sources[:size]
        ]
        return self.answer(request, sources, size, rows)


class PickList(JudgementList):
    source = Preference
    project_path = "task__project"
    fields = PREFERENCE_FIELDS
    marked = preferences_marked

    @extend_schema(
        summary="Picks as pairs: the dataset's preferences (images) or text_dpo (answers) columns",
        description=f"{ACCESS} A page holds the pairs of up to page_size picks, oldest change first: best of N "
        "gives N−1 pairs, a tie every pair (label_0 0.5; answers: none, DPO needs a winner), all bad none.",
        parameters=[PageParameters],
        responses=responses(
            {
                200: page_of(
                    PolymorphicProxySerializer(
                        component_name="PickRow",
                        serializers=[PreferenceRowSerializer, TextPairRowSerializer],
                        resource_type_field_name=None,
                        many=True,
                    ),
                    "PickPage",
                )
            }
        ),
    )
    def get(self, request, slug: str):
        sources, size = self.page(request, slug)
        picks = sources[:size]
        candidates = candidates_by_task({pick["task_id"] for pick in picks})
        image_url = ImageUrls(request)
        uid_of = {c["id"]: c["uid"] for task_candidates in candidates.values() for c in task_candidates}

        def image_path(candidate_id: int) -> str:
            return image_url(uid_of[candidate_id])

        rows = []
        for pick in picks:
            pairs = preference_pairs(pick, candidates.get(pick["task_id"], []))
            rows += pair_rows(pick, pairs, image_path=image_path)
        return self.answer(request, sources, size, rows)


class ReviewList(JudgementList):
    source = Review
    project_path = "candidate__task__project"
    fields = REVIEW_FIELDS
    marked = reviews_marked

    @extend_schema(
        summary="Reviews of LLM answers in the dataset's reviews columns",
        description=f"{ACCESS} Oldest change first.",
        parameters=[PageParameters],
        responses=responses({200: page_of(ReviewRowSerializer(many=True), "ReviewPage")}),
    )
    def get(self, request, slug: str):
        sources, size = self.page(request, slug)
        return self.answer(request, sources, size, [review_row(review) for review in sources[:size]])
