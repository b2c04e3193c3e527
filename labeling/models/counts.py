"""What the database counts as judgements are written, so the queue and the completion rule read a row per task
instead of counting votes.

Triggers (migration 0016) keep these rows: a task's and a candidate's row are made with them; every insert, change
or delete of a vote moves its candidate's counts, which recount the task's; every pick recounts whether the task's
picks differ. Nothing in Python writes them, and they live in tables of their own so that saving a Task or a
Candidate (which writes every column of its row) can never put back a count read earlier.

A task's recount first locks the task's row here: counts of its other candidates written by concurrent votes are
then committed before it reads them, so the counts stay exact under any interleaving of votes.
"""

from django.db import connection, models, transaction

from labeling.models.tasks import Candidate, Task


class CandidateVoteCounts(models.Model):
    """A candidate's cast votes (withdrawn ones not counted), by value."""

    candidate = models.OneToOneField(Candidate, on_delete=models.CASCADE, primary_key=True, related_name="vote_counts")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+")
    up_votes = models.PositiveIntegerField(default=0)
    down_votes = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"candidate {self.candidate_id}: {self.up_votes} up, {self.down_votes} down"


class TaskJudgementCounts(models.Model):
    """What the completion rule reads of a task's judgements (labeling.selectors.with_judgements_missing)."""

    task = models.OneToOneField(Task, on_delete=models.CASCADE, primary_key=True, related_name="judgement_counts")
    # The cast votes of the task's least-voted candidate (0 without candidates).
    fewest_votes = models.PositiveIntegerField(default=0)
    # The same among candidates whose votes are split (👍 and 👎 both cast); null when none is.
    fewest_split_votes = models.PositiveIntegerField(null=True)
    # The task's best picks disagree: different candidates, or a candidate and a tie or all bad.
    picks_differ = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"task {self.task_id}: fewest {self.fewest_votes} votes"


# The completion rule in SQL, for the hand-written statements of the vote and of the press of Next (their ORM form
# is labeling/selectors.py's ``with_judgements_missing``): how many more people a task needs, read from its counts
# (``j``) and its project's settings (``p``). The overlap less its least-voted candidate's cast votes, or one more
# while its judgements disagree (a candidate's votes are split, or its best picks differ), up to the most judgements
# per item. The task is full when this is 0 or less; a task without candidates counts 0 votes, below any overlap.
# CASE for GREATEST, which SQLite lacks.
_DISPUTED_SQL = (
    "CASE WHEN j.fewest_split_votes < p.max_judgements"
    " OR (j.picks_differ AND j.fewest_votes < p.max_judgements) THEN 1 ELSE 0 END"
)
JUDGEMENTS_MISSING_SQL = (
    f"CASE WHEN p.votes_per_candidate - j.fewest_votes > {_DISPUTED_SQL}"
    f" THEN p.votes_per_candidate - j.fewest_votes ELSE {_DISPUTED_SQL} END"
)


# Every count again from the rows themselves; the same statements as migration 0016's, which made the first counts.
_RECOUNT_TASK_VOTES_SQL = (
    "UPDATE labeling_taskjudgementcounts SET"
    " fewest_votes = (SELECT COALESCE(MIN(c.up_votes + c.down_votes), 0) FROM labeling_candidatevotecounts c"
    " WHERE c.task_id = labeling_taskjudgementcounts.task_id),"
    " fewest_split_votes = (SELECT MIN(c.up_votes + c.down_votes) FROM labeling_candidatevotecounts c"
    " WHERE c.task_id = labeling_taskjudgementcounts.task_id AND c.up_votes > 0 AND c.down_votes > 0)"
)
_RECOUNT_ALL_SQL = [
    "DELETE FROM labeling_candidatevotecounts",
    "DELETE FROM labeling_taskjudgementcounts",
    "INSERT INTO labeling_taskjudgementcounts (task_id, fewest_votes, picks_differ)"
    " SELECT id, 0, FALSE FROM labeling_task",
    "INSERT INTO labeling_candidatevotecounts (candidate_id, task_id, up_votes, down_votes)"
    " SELECT c.id, c.task_id, COUNT(v.id) FILTER (WHERE v.value = 1), COUNT(v.id) FILTER (WHERE v.value = -1)"
    " FROM labeling_candidate c LEFT JOIN labeling_vote v ON v.candidate_id = c.id GROUP BY c.id, c.task_id",
    _RECOUNT_TASK_VOTES_SQL,
    "UPDATE labeling_taskjudgementcounts SET picks_differ = ("
    "SELECT COUNT(DISTINCT p.chosen_id) + COUNT(DISTINCT CASE WHEN p.chosen_id IS NULL THEN p.choice END) > 1"
    " FROM labeling_preference p WHERE p.task_id = labeling_taskjudgementcounts.task_id)",
]


def judgement_counts_recount() -> None:
    """Count every task's and candidate's judgements again, in one transaction: for rows written with the
    triggers off (a restore, a bulk load with ``session_replication_role = replica``)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in _RECOUNT_ALL_SQL:
            cursor.execute(statement)
