import pytest
from django.db import IntegrityError, transaction

from generation.models import GenerationJob
from labeling.models import Candidate, Preference, Task, Vote

pytestmark = pytest.mark.postgres


@pytest.fixture
def candidates(project):
    task = Task.objects.create(project=project, prompt="a heron", source=Task.Source.BATCH, status=Task.Status.READY)
    return [Candidate.objects.create(task=task, index=i) for i in range(2)]


def test_the_database_keeps_one_vote_per_user_per_candidate(annotator, candidates):
    Vote.objects.create(user=annotator, candidate=candidates[0], value=Vote.Value.UP)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(user=annotator, candidate=candidates[0], value=Vote.Value.DOWN)
    Vote.objects.create(user=annotator, candidate=candidates[1], value=Vote.Value.DOWN)
    assert Vote.objects.filter(user=annotator).count() == 2


def test_the_database_refuses_an_invalid_vote_value(annotator, candidates):
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(user=annotator, candidate=candidates[0], value=7)
    assert not Vote.objects.exists()


def test_a_best_pick_must_name_a_candidate_and_a_tie_must_not(annotator, candidates):
    task = candidates[0].task
    with pytest.raises(IntegrityError), transaction.atomic():
        Preference.objects.create(user=annotator, task=task, choice=Preference.Choice.BEST)
    with pytest.raises(IntegrityError), transaction.atomic():
        Preference.objects.create(user=annotator, task=task, choice=Preference.Choice.TIE, chosen=candidates[0])
    Preference.objects.create(user=annotator, task=task, choice=Preference.Choice.BEST, chosen=candidates[1])
    with pytest.raises(IntegrityError), transaction.atomic():
        Preference.objects.create(user=annotator, task=task, choice=Preference.Choice.TIE)


def test_a_task_has_at_most_one_active_generation_job(candidates):
    task = candidates[0].task
    GenerationJob.objects.create(task=task, kind=GenerationJob.Kind.IMAGE)
    with pytest.raises(IntegrityError), transaction.atomic():
        GenerationJob.objects.create(task=task, kind=GenerationJob.Kind.IMAGE, status=GenerationJob.Status.RUNNING)
    GenerationJob.objects.create(task=task, kind=GenerationJob.Kind.IMAGE, status=GenerationJob.Status.FAILED)
    assert GenerationJob.objects.filter(task=task).count() == 2


def test_an_empty_prompt_cannot_be_stored(project):
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(project=project, prompt="", source=Task.Source.TYPED)
