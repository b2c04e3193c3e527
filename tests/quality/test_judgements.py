"""PostgreSQL's packed read of the judgements gives exactly the rows the plain cursor read gives."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from labeling.models import Preference, Review, Vote
from quality.judgements import FIELDS, judgement_querysets, rows_plain, rows_postgresql, sql_of
from tests.factories import judged_at, make_plain_task, member


def _sorted(rows: np.ndarray) -> np.ndarray:
    return rows[np.lexsort(rows.T[::-1])]


@pytest.mark.postgres
def test_the_packed_postgresql_read_equals_the_plain_cursor_read(project):
    ann, bob = member(project, "ann"), member(project, "bob")
    task = make_plain_task(project, candidates=3)
    start = timezone.now() - timedelta(hours=1)
    for offset, (user, index, value) in enumerate([(ann, 0, 1), (ann, 1, -1), (bob, 0, -1), (bob, 2, 0)]):
        vote = Vote.objects.create(user=user, candidate=task.candidates.get(index=index), value=value)
        judged_at(vote, start + timedelta(seconds=offset * 2.5))
    Preference.objects.create(user=bob, task=task, choice="best", chosen=task.candidates.get(index=2))
    Preference.objects.create(user=ann, task=task, choice="tie")
    Review.objects.create(reviewer=ann, candidate=task.candidates.get(index=1), decision="reject", original_text="x")

    for kind, queryset in judgement_querysets(project=project).items():
        sql, params = sql_of(queryset, FIELDS)
        packed, plain = rows_postgresql(sql, params, FIELDS), rows_plain(sql, params, FIELDS)
        assert packed.shape == plain.shape == ({"votes": 3, "picks": 2, "reviews": 1}[kind], 4)
        np.testing.assert_allclose(_sorted(packed), _sorted(plain), rtol=0, atol=1e-6)
