"""The large project bench/scale.py measures, built straight in PostgreSQL.

A million votes cannot go through the ORM in minutes, so one row of each kind is made through the ORM (which
fills every column, defaults included, whatever later migrations add) and then copied by ``INSERT … SELECT``
over ``generate_series``, with only the columns that differ written out.

Layout (image project "scale", overlap 5, 4 candidates per task; 100 annotators):
- tasks 0 – 37,499: complete, 5 annotators each (750,000 votes);
- tasks 37,500 – 57,499: open, 3 annotators each, one of them the *veteran*, who so has 20,000 finished tasks
  still open to others (240,000 votes);
- tasks 57,500 – 59,999: open, 1 annotator each (10,000 votes); 60,000 – 62,499: open, untouched;
- 50,000 picks on the first 10,000 tasks; the *newcomer* has judged nothing.
Text project "scale-text" (10 reviewers): 25,000 answers, the first 20,000 reviewed once, the rest waiting.
Each annotator's QueueMarker is then moved past their finished tasks, as their own presses of Next would have.
"""

import os
from dataclasses import dataclass

SCALE = float(os.environ.get("BENCH_SCALE", "1"))  # below 1 for a quick trial of the script itself


def scaled(count: int) -> int:
    return max(1, round(count * SCALE))


TASKS = scaled(62_500)
COMPLETE_TASKS = scaled(37_500)
VETERAN_TASKS = scaled(20_000)
SINGLE_VOTER_TASKS = scaled(2_500)
PICKED_TASKS = scaled(10_000)
ANSWERS = scaled(25_000)
REVIEWED_ANSWERS = scaled(20_000)
ANNOTATORS = 100
REVIEWERS = 10
OVERLAP = 5
CANDIDATES = 4
# Annotators 0 … 97 vote by rotation; 98 is the newcomer, 99 the veteran.
ROTATING = ANNOTATORS - 2
NEWCOMER = ANNOTATORS - 2
VETERAN = ANNOTATORS - 1


PROJECT_SLUG, TEXT_SLUG, STAFF_USERNAME = "scale", "scale-text", "staff"


def annotator_username(number: int) -> str:
    return f"ann{number:03d}"


def reviewer_username(number: int) -> str:
    return f"rev{number}"


@dataclass
class Actors:
    """Who the bench logs in as, and where they work."""

    project_slug: str
    text_slug: str
    newcomer_id: int
    veteran_id: int
    reviewer_id: int
    staff_id: int


def columns_of(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'id' "
        "ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def copy_rows(cursor, table: str, template_id: int, source: str, values: dict[str, str], where: str = "TRUE") -> int:
    """Insert one row per row of ``source`` (SQL after FROM): ``values`` (column → SQL), the template's elsewhere."""
    columns = columns_of(cursor, table)
    select = ", ".join(values.get(column, f"tpl.{column}") for column in columns)
    # No parameters: the statement is all the bench's own, and its % are modulo operators.
    cursor.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} "
        f"FROM {table} tpl, {source} WHERE tpl.id = {int(template_id)} AND {where}"
    )
    return cursor.rowcount


def voters_of(n: str) -> str:
    """SQL: the annotator numbers (``who``) who judged image task number ``n``."""
    veteran_end = COMPLETE_TASKS + VETERAN_TASKS
    return (
        f"(SELECT ({n} * {OVERLAP} + k) % {ROTATING} AS who FROM generate_series(0, {OVERLAP - 1}) k "
        f"WHERE {n} < {COMPLETE_TASKS} "
        f"UNION ALL SELECT {VETERAN} WHERE {n} >= {COMPLETE_TASKS} AND {n} < {veteran_end} "
        f"UNION ALL SELECT ({n} * 2 + k) % {ROTATING} FROM generate_series(0, 1) k "
        f"WHERE {n} >= {COMPLETE_TASKS} AND {n} < {veteran_end} "
        f"UNION ALL SELECT {n} % {ROTATING} WHERE {n} >= {veteran_end} AND {n} < {veteran_end + SINGLE_VOTER_TASKS})"
    )


def spread(n: str, total: int) -> str:
    """SQL: a time over the last sixty days, oldest first, as for a project that has run a while."""
    return f"now() - interval '60 days' + ({n}::float / {total}) * interval '59 days'"


def build() -> Actors:
    """Users, projects and every row; Django must be set up on the bench database (migrated here)."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import User
    from labeling.models import Candidate, Membership, Preference, Project, Review, Task, Vote
    from labeling.models.counts import judgement_counts_recount

    call_command("migrate", verbosity=0)
    project = Project.objects.create(
        slug=PROJECT_SLUG, name="Scale", votes_per_candidate=OVERLAP, candidates_per_task=CANDIDATES
    )
    text = Project.objects.create(slug=TEXT_SLUG, name="Scale answers", kind=Project.Kind.TEXT, candidates_per_task=1)
    unusable = make_password(None)
    annotators = User.objects.bulk_create(
        User(username=annotator_username(n), password=unusable) for n in range(ANNOTATORS)
    )
    reviewers = User.objects.bulk_create(
        User(username=reviewer_username(n), password=unusable) for n in range(REVIEWERS)
    )
    staff = User.objects.create(username=STAFF_USERNAME, password=unusable, is_staff=True, is_superuser=True)
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in annotators)
    Membership.objects.bulk_create(
        Membership(user=user, project=text, role=Membership.Role.REVIEWER) for user in reviewers
    )
    # Made in one statement each, so the ids are consecutive: the SQL counts from the first.
    first_annotator, first_reviewer = annotators[0].pk, reviewers[0].pk
    assert [user.pk for user in annotators] == list(range(first_annotator, first_annotator + ANNOTATORS))
    assert [user.pk for user in reviewers] == list(range(first_reviewer, first_reviewer + REVIEWERS))

    task = Task.objects.create(project=project, prompt="template", source=Task.Source.BATCH)
    candidate = Candidate.objects.create(task=task, index=0)
    vote = Vote.objects.create(user=annotators[0], candidate=candidate, value=Vote.Value.UP)
    pick = Preference.objects.create(user=annotators[0], task=task, choice=Preference.Choice.TIE)
    answer_task = Task.objects.create(project=text, prompt="template", source=Task.Source.BATCH)
    answer = Candidate.objects.create(task=answer_task, index=0, text="template", confidence=0.4)
    review = Review.objects.create(
        reviewer=reviewers[0], candidate=answer, decision=Review.Decision.ACCEPT, original_text="template"
    )

    with transaction.atomic(), connection.cursor() as cursor:
        # Row by row, the judgement counts' triggers would take minutes here: off for the copy, counted once after.
        cursor.execute("SET LOCAL session_replication_role = replica")
        copy_rows(
            cursor,
            "labeling_task",
            task.pk,
            f"generate_series(0, {TASKS - 1}) n",
            {
                "prompt": "'a scale prompt number ' || n",
                "status": f"CASE WHEN n < {COMPLETE_TASKS} THEN 'complete' ELSE 'ready' END",
                "created_at": spread("n", TASKS),
                "updated_at": spread("n", TASKS),
                "queued_at": spread("n", TASKS),
            },
        )
        copy_rows(
            cursor,
            "labeling_task",
            answer_task.pk,
            f"generate_series(0, {ANSWERS - 1}) n",
            {
                "prompt": "'a question number ' || n",
                "status": "'ready'",
                "created_at": spread("n", ANSWERS),
                "updated_at": spread("n", ANSWERS),
                "queued_at": spread("n", ANSWERS),
            },
        )
        cursor.execute(
            "CREATE TEMP TABLE numbered AS SELECT id AS task_id, project_id, "
            "row_number() OVER (PARTITION BY project_id ORDER BY id) - 1 AS n "
            "FROM labeling_task WHERE id NOT IN (%s, %s)",
            [task.pk, answer_task.pk],
        )
        copy_rows(
            cursor,
            "labeling_candidate",
            candidate.pk,
            f"numbered t, generate_series(0, {CANDIDATES - 1}) i",
            {
                "task_id": "t.task_id",
                "index": "i",
                "uid": "gen_random_uuid()",
                "seed": "t.n * 10 + i",
            },
            where=f"t.project_id = {project.pk}",
        )
        copy_rows(
            cursor,
            "labeling_candidate",
            answer.pk,
            "numbered t",
            {
                "task_id": "t.task_id",
                "uid": "gen_random_uuid()",
                "text": "'An answer to question ' || t.n || ', perhaps.'",
                "review_state": f"CASE WHEN t.n < {REVIEWED_ANSWERS} THEN 'reviewed' ELSE 'needs_review' END",
                "created_at": spread("t.n", ANSWERS),
            },
            where=f"t.project_id = {text.pk}",
        )
        cursor.execute(
            "CREATE TEMP TABLE numbered_candidate AS SELECT c.id AS candidate_id, c.task_id, t.n, c.index AS i "
            f"FROM labeling_candidate c JOIN numbered t ON t.task_id = c.task_id WHERE t.project_id = {project.pk}"
        )
        cursor.execute("CREATE INDEX ON numbered_candidate (task_id, i)")
        copy_rows(
            cursor,
            "labeling_vote",
            vote.pk,
            f"numbered_candidate c CROSS JOIN LATERAL {voters_of('c.n')} v",
            {
                "candidate_id": "c.candidate_id",
                "user_id": f"{first_annotator} + v.who",
                "value": "CASE WHEN (c.n + c.i + v.who) % 3 = 0 THEN -1 ELSE 1 END",
                "created_at": spread("c.n", TASKS),
                "updated_at": spread("c.n", TASKS),
            },
        )
        copy_rows(
            cursor,
            "labeling_preference",
            pick.pk,
            f"numbered t CROSS JOIN LATERAL {voters_of('t.n')} v",
            {
                "task_id": "t.task_id",
                "user_id": f"{first_annotator} + v.who",
                "choice": "CASE WHEN (t.n + v.who) % 5 = 0 THEN 'tie' ELSE 'best' END",
                "chosen_id": "CASE WHEN (t.n + v.who) % 5 = 0 THEN NULL "
                "ELSE (SELECT c.candidate_id FROM numbered_candidate c "
                f"WHERE c.task_id = t.task_id AND c.i = (t.n + v.who) % {CANDIDATES}) END",
                "created_at": spread("t.n", TASKS),
                "updated_at": spread("t.n", TASKS),
            },
            where=f"t.project_id = {project.pk} AND t.n < {PICKED_TASKS}",
        )
        copy_rows(
            cursor,
            "labeling_review",
            review.pk,
            "numbered t JOIN labeling_candidate a ON a.task_id = t.task_id",
            {
                "candidate_id": "a.id",
                "reviewer_id": f"{first_reviewer} + t.n % {REVIEWERS}",
                "decision": "CASE t.n % 10 WHEN 0 THEN 'reject' WHEN 1 THEN 'correct' ELSE 'accept' END",
                "original_text": "a.text",
                "corrected_text": "CASE WHEN t.n % 10 = 1 THEN 'A corrected answer.' ELSE '' END",
                "created_at": spread("t.n", ANSWERS),
                "updated_at": spread("t.n", ANSWERS),
            },
            where=f"t.project_id = {text.pk} AND t.n < {REVIEWED_ANSWERS}",
        )
    judgement_counts_recount()
    task.delete()
    answer_task.delete()
    # Each annotator's place in the queue, where their own presses of Next would have left it.
    from labeling.services import queue_marker_advance

    for annotator in annotators:
        queue_marker_advance(user=annotator, project=project)
    return Actors(
        project_slug=project.slug,
        text_slug=text.slug,
        newcomer_id=first_annotator + NEWCOMER,
        veteran_id=first_annotator + VETERAN,
        reviewer_id=first_reviewer,
        staff_id=staff.pk,
    )


def actors_built() -> Actors:
    """The actors of a database that ``build`` filled before (BENCH_REUSE_DB)."""
    from accounts.models import User

    names = {
        "newcomer_id": annotator_username(NEWCOMER),
        "veteran_id": annotator_username(VETERAN),
        "reviewer_id": reviewer_username(0),
        "staff_id": STAFF_USERNAME,
    }
    ids = dict(User.objects.filter(username__in=names.values()).values_list("username", "pk"))
    return Actors(project_slug=PROJECT_SLUG, text_slug=TEXT_SLUG, **{actor: ids[name] for actor, name in names.items()})


def counts(cursor) -> dict[str, int]:
    """What was built, as the bench reports it."""
    found = {}
    for table in ("labeling_task", "labeling_candidate", "labeling_vote", "labeling_preference", "labeling_review"):
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        found[table.removeprefix("labeling_")] = cursor.fetchone()[0]
    return found
