"""The annotator queue's rule is stated in two forms: the ORM's (labeling/selectors.py: My progress, the held task)
and the SQL of a press of "Next task" (labeling/queue_statements.py). These tests hold the two to the same answers
over tasks in every state an annotator meets: votes by others (enough, split, withdrawn), picks that differ, their
own votes, holds of others (live, expired, of someone who has finished), their own prompt, gold tasks ready and
complete, a place in the queue, skipped tasks and a pause."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from labeling.models import Candidate, Membership, Preference, Task, TaskReservation, Vote
from labeling.queue_statements import (
    QueueStart,
    queue_start_of,
    task_first_open,
    task_first_unpassed,
    task_has_slot_for,
    task_held_open,
    tasks_open_count,
)
from labeling.selectors import (
    tasks_open_for,
    tasks_passed_by,
    tasks_unheld_for,
)
from tests.factories import member

UP, DOWN, WITHDRAWN = Vote.Value.UP, Vote.Value.DOWN, Vote.Value.WITHDRAWN
GOLD = {"ratings": {"0": "good"}}


def _tasks(project, me, others) -> list[Task]:
    """Tasks in the states that decide the rule, in the queue's order."""
    later = timezone.now() + timedelta(minutes=5)
    earlier = timezone.now() - timedelta(minutes=5)
    made = []

    def task(*, votes=(), picks=(), holders=(), expires=later, status="ready", gold=None, typed_by=None):
        source = Task.Source.TYPED if typed_by else Task.Source.BATCH
        made_task = Task.objects.create(
            project=project, prompt=f"p{len(made)}", source=source, status=status, gold=gold, created_by=typed_by
        )
        candidates = [Candidate.objects.create(task=made_task, index=index) for index in range(2)]
        for voter, values in votes:
            for candidate, value in zip(candidates, values, strict=False):
                Vote.objects.create(user=voter, candidate=candidate, value=value)
        for picker, choice in picks:
            chosen = candidates[0] if choice == "best" else None
            Preference.objects.create(user=picker, task=made_task, choice=choice, chosen=chosen)
        for holder in holders:
            TaskReservation.objects.create(task=made_task, user=holder, expires_at=expires)
        made.append(made_task)

    a, b, c = others
    task()
    task(votes=[(a, [UP, UP])])
    task(votes=[(a, [UP, UP]), (b, [UP, UP])])  # full at overlap 2
    task(votes=[(a, [UP, UP]), (b, [DOWN, UP])])  # split: one more
    task(votes=[(a, [UP, UP]), (b, [DOWN, UP]), (c, [UP, UP])])  # split, at the most judgements
    task(votes=[(a, [UP, UP]), (b, [UP, UP])], picks=[(a, "best"), (b, "tie")])  # picks differ
    task(votes=[(a, [UP, WITHDRAWN]), (b, [UP, UP])])  # a withdrawn vote does not count
    task(votes=[(me, [UP, UP])])  # finished by me
    task(votes=[(me, [UP])])  # half done by me
    task(votes=[(a, [UP, UP])], holders=[b])  # the last slot held
    task(holders=[a, b])  # both slots held
    task(holders=[a, b], expires=earlier)  # holds expired
    task(votes=[(a, [UP, UP])], holders=[a])  # held by someone who has finished
    task(holders=[me])
    task(typed_by=me)  # my own prompt
    task(typed_by=a)
    task(status="complete", votes=[(a, [UP, UP]), (b, [UP, UP])])
    task(status="generating")
    task(gold=GOLD)
    task(gold=GOLD, status="complete", votes=[(a, [UP, UP]), (b, [UP, UP])])
    task(gold=GOLD, votes=[(me, [UP, UP])])
    return made


def _sql_order(user, project, start, now, *, gold, skipped, skipped_ids) -> list[int]:
    """Every task the press's statement would hand out, in order (each found one passed over for the next)."""
    found: list[int] = []
    while task := task_first_open(
        user=user,
        project=project,
        start=start,
        now=now,
        gold=gold,
        skipped=skipped,
        skipped_ids=skipped_ids,
        passed_over=found,
    ):
        found.append(task.pk)
    return found


@pytest.mark.parametrize(
    ("forbid", "place", "skipping", "paused"),
    list(itertools.product([True, False], [None, 4], [False, True], [False, True])),
)
@pytest.mark.django_db
def test_the_press_statements_and_the_querysets_agree(project, forbid, place, skipping, paused):
    project.votes_per_candidate = 2
    project.max_judgements = 3
    project.forbid_self_voting = forbid
    project.save()
    me = member(project, "me")
    others = [member(project, name) for name in ("ann", "bob", "cat")]
    tasks = _tasks(project, me, others)
    if paused:
        Membership.objects.filter(user=me, project=project).update(paused_at=timezone.now())
    start = queue_start_of(user=me, project=project)
    if place is not None:
        start = QueueStart(place=(tasks[place].queued_at, tasks[place].pk), paused=start.paused)
    assert start.paused == paused
    now = timezone.now()
    skipped_ids = [tasks[0].pk, tasks[3].pk, tasks[-3].pk] if skipping else []

    for gold in (True, False):
        unheld = tasks_unheld_for(user=me, project=project, start=start, now=now, gold=gold)
        for skipped in (False, True):
            by_orm = unheld.filter(pk__in=skipped_ids) if skipped else unheld.exclude(pk__in=skipped_ids)
            by_sql = _sql_order(me, project, start, now, gold=gold, skipped=skipped, skipped_ids=skipped_ids)
            assert by_sql == [task.pk for task in by_orm], (gold, skipped)
        open_to_me = tasks_open_for(user=me, project=project, start=start, gold=gold)
        assert tasks_open_count(user=me, project=project, start=start, gold=gold, limit=100) == open_to_me.count()
        assert tasks_open_count(user=me, project=project, start=start, gold=gold, limit=1) == min(1, open_to_me.count())
        unheld_ids = set(unheld.values_list("pk", flat=True))
        for task in tasks_open_for(user=me, project=project, start=start, gold=gold):
            assert task_has_slot_for(user=me, project=project, task=task, now=now) == (task.pk in unheld_ids)
    if paused:
        assert not tasks_open_for(user=me, project=project, start=start).exists()
    # The tasks the queue holds for me (each one alone, all, every other one): the first still open to me, both forms.
    every_task = [task.pk for task in tasks]
    for held_ids in [[pk] for pk in every_task] + [every_task, every_task[::2], every_task[1::2]]:
        first_open = tasks_open_for(user=me, project=project, start=start).filter(pk__in=held_ids)
        first_open = first_open.order_by("queued_at", "pk").values_list("pk", flat=True).first()
        held_open = task_held_open(user=me, project=project, start=start, held_ids=held_ids)
        assert (held_open.pk if held_open else None) == first_open, held_ids

    ready = Task.objects.filter(project=project, status=Task.Status.READY).order_by("queued_at", "pk")
    if place is not None:
        ready = ready.filter(pk__gt=tasks[place].pk)
    first = ready.exclude(tasks_passed_by(me, start=start)).values_list("queued_at", "pk").first()
    assert task_first_unpassed(user=me, project=project, start=start) == first


@pytest.mark.django_db
def test_the_press_statements_see_every_task_when_nothing_is_in_the_way(project):
    """The agreement above is not an agreement on nothing: the statements hand out the open tasks in the queue's
    order, and leave out those the rule forbids."""
    project.votes_per_candidate = 2
    project.max_judgements = 3
    project.forbid_self_voting = True
    project.save()
    me = member(project, "me")
    tasks = _tasks(project, me, [member(project, name) for name in ("ann", "bob", "cat")])
    start, now = queue_start_of(user=me, project=project), timezone.now()
    handed = _sql_order(me, project, start, now, gold=False, skipped=False, skipped_ids=[])
    index = {task.pk: number for number, task in enumerate(tasks)}
    # Open: untouched, one vote, split, picks differ, withdrawn, half done by me, held expired, held by a finished
    # holder, held by me, typed by someone else; not: full, at the most, finished by me, the last slot held, both
    # held, my own prompt, complete, generating, gold.
    assert [index[pk] for pk in handed] == [0, 1, 3, 5, 6, 8, 11, 12, 13, 15]
    gold = _sql_order(me, project, start, now, gold=True, skipped=False, skipped_ids=[])
    assert [index[pk] for pk in gold] == [18, 19]
