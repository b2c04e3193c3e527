"""Judgement counts kept by the database (labeling/models/counts.py): the tables, the triggers that keep them, and
the counts of what is already there."""

import django.db.models.deletion
from django.db import migrations, models


# Values of Vote.Value, frozen here: 1 is 👍, -1 is 👎, 0 a withdrawn vote (counted by neither).
_RECOUNT_TASK_VOTES = (
    "UPDATE labeling_taskjudgementcounts SET"
    " fewest_votes = (SELECT COALESCE(MIN(c.up_votes + c.down_votes), 0) FROM labeling_candidatevotecounts c"
    " WHERE c.task_id = {task}),"
    " fewest_split_votes = (SELECT MIN(c.up_votes + c.down_votes) FROM labeling_candidatevotecounts c"
    " WHERE c.task_id = {task} AND c.up_votes > 0 AND c.down_votes > 0)"
    " WHERE task_id = {task}"
)
_RECOUNT_TASK_PICKS = (
    "UPDATE labeling_taskjudgementcounts SET picks_differ = ("
    "SELECT COUNT(DISTINCT p.chosen_id) + COUNT(DISTINCT CASE WHEN p.chosen_id IS NULL THEN p.choice END) > 1"
    " FROM labeling_preference p WHERE p.task_id = {task}) WHERE task_id = {task}"
)
_BACKFILL = [
    "INSERT INTO labeling_taskjudgementcounts (task_id, fewest_votes, picks_differ) SELECT id, 0, FALSE FROM labeling_task",
    "INSERT INTO labeling_candidatevotecounts (candidate_id, task_id, up_votes, down_votes)"
    " SELECT c.id, c.task_id, COUNT(v.id) FILTER (WHERE v.value = 1), COUNT(v.id) FILTER (WHERE v.value = -1)"
    " FROM labeling_candidate c LEFT JOIN labeling_vote v ON v.candidate_id = c.id GROUP BY c.id, c.task_id",
    _RECOUNT_TASK_VOTES.format(task="labeling_taskjudgementcounts.task_id"),
    _RECOUNT_TASK_PICKS.format(task="labeling_taskjudgementcounts.task_id"),
]

# PostgreSQL: a task's recount locks its row first, so that what concurrent votes wrote to its other candidates
# is committed before the recount reads it (each statement of a volatile function reads a fresh snapshot).
POSTGRESQL = [
    """CREATE FUNCTION labeling_task_lock(counted bigint) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN PERFORM 1 FROM labeling_taskjudgementcounts WHERE task_id = counted FOR UPDATE; END $$""",
    """CREATE FUNCTION labeling_task_made() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO labeling_taskjudgementcounts (task_id, fewest_votes, picks_differ) VALUES (NEW.id, 0, FALSE);
    RETURN NULL; END $$""",
    """CREATE TRIGGER labeling_task_made AFTER INSERT ON labeling_task
    FOR EACH ROW EXECUTE FUNCTION labeling_task_made()""",
    """CREATE FUNCTION labeling_candidate_made() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO labeling_candidatevotecounts (candidate_id, task_id, up_votes, down_votes)
    VALUES (NEW.id, NEW.task_id, 0, 0);
    RETURN NULL; END $$""",
    """CREATE TRIGGER labeling_candidate_made AFTER INSERT ON labeling_candidate
    FOR EACH ROW EXECUTE FUNCTION labeling_candidate_made()""",
    """CREATE FUNCTION labeling_vote_counted() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE up_change int := 0; down_change int := 0; voted bigint;
    BEGIN
    IF TG_OP <> 'INSERT' THEN
      up_change := -(OLD.value = 1)::int; down_change := -(OLD.value = -1)::int; voted := OLD.candidate_id;
    END IF;
    IF TG_OP <> 'DELETE' THEN
      up_change := up_change + (NEW.value = 1)::int; down_change := down_change + (NEW.value = -1)::int;
      voted := NEW.candidate_id;
    END IF;
    IF up_change <> 0 OR down_change <> 0 THEN
      UPDATE labeling_candidatevotecounts SET up_votes = up_votes + up_change, down_votes = down_votes + down_change
      WHERE candidate_id = voted;
    END IF;
    RETURN NULL; END $$""",
    """CREATE TRIGGER labeling_vote_counted AFTER INSERT OR UPDATE OF value OR DELETE ON labeling_vote
    FOR EACH ROW EXECUTE FUNCTION labeling_vote_counted()""",
    f"""CREATE FUNCTION labeling_task_votes_recount() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE counted bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.task_id ELSE NEW.task_id END;
    BEGIN
    PERFORM labeling_task_lock(counted);
    {_RECOUNT_TASK_VOTES.format(task="counted")};
    RETURN NULL; END $$""",
    """CREATE TRIGGER labeling_task_votes_recount AFTER INSERT OR DELETE ON labeling_candidatevotecounts
    FOR EACH ROW EXECUTE FUNCTION labeling_task_votes_recount()""",
    """CREATE TRIGGER labeling_task_votes_recount_changed AFTER UPDATE ON labeling_candidatevotecounts
    FOR EACH ROW WHEN (OLD.up_votes <> NEW.up_votes OR OLD.down_votes <> NEW.down_votes)
    EXECUTE FUNCTION labeling_task_votes_recount()""",
    f"""CREATE FUNCTION labeling_task_picks_recount() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE counted bigint := CASE WHEN TG_OP = 'DELETE' THEN OLD.task_id ELSE NEW.task_id END;
    BEGIN
    PERFORM labeling_task_lock(counted);
    {_RECOUNT_TASK_PICKS.format(task="counted")};
    RETURN NULL; END $$""",
    """CREATE TRIGGER labeling_task_picks_recount AFTER INSERT OR UPDATE OF choice, chosen_id OR DELETE
    ON labeling_preference FOR EACH ROW EXECUTE FUNCTION labeling_task_picks_recount()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER labeling_task_made ON labeling_task",
    "DROP TRIGGER labeling_candidate_made ON labeling_candidate",
    "DROP TRIGGER labeling_vote_counted ON labeling_vote",
    "DROP TRIGGER labeling_task_votes_recount ON labeling_candidatevotecounts",
    "DROP TRIGGER labeling_task_votes_recount_changed ON labeling_candidatevotecounts",
    "DROP TRIGGER labeling_task_picks_recount ON labeling_preference",
    "DROP FUNCTION labeling_task_made, labeling_candidate_made, labeling_vote_counted, labeling_task_votes_recount,"
    " labeling_task_picks_recount, labeling_task_lock",
]

# SQLite runs one writer at a time, so its triggers need no lock.
_SQLITE_VOTE_CHANGE = (
    "UPDATE labeling_candidatevotecounts SET up_votes = up_votes + {up}, down_votes = down_votes + {down}"
    " WHERE candidate_id = {candidate};"
)
SQLITE = [
    """CREATE TRIGGER labeling_task_made AFTER INSERT ON labeling_task BEGIN
    INSERT INTO labeling_taskjudgementcounts (task_id, fewest_votes, picks_differ) VALUES (NEW.id, 0, 0); END""",
    """CREATE TRIGGER labeling_candidate_made AFTER INSERT ON labeling_candidate BEGIN
    INSERT INTO labeling_candidatevotecounts (candidate_id, task_id, up_votes, down_votes)
    VALUES (NEW.id, NEW.task_id, 0, 0); END""",
    "CREATE TRIGGER labeling_vote_counted_insert AFTER INSERT ON labeling_vote BEGIN "
    + _SQLITE_VOTE_CHANGE.format(up="(NEW.value = 1)", down="(NEW.value = -1)", candidate="NEW.candidate_id")
    + " END",
    "CREATE TRIGGER labeling_vote_counted_update AFTER UPDATE OF value ON labeling_vote"
    " WHEN OLD.value <> NEW.value BEGIN "
    + _SQLITE_VOTE_CHANGE.format(
        up="(NEW.value = 1) - (OLD.value = 1)", down="(NEW.value = -1) - (OLD.value = -1)", candidate="NEW.candidate_id"
    )
    + " END",
    "CREATE TRIGGER labeling_vote_counted_delete AFTER DELETE ON labeling_vote BEGIN "
    + _SQLITE_VOTE_CHANGE.format(up="-(OLD.value = 1)", down="-(OLD.value = -1)", candidate="OLD.candidate_id")
    + " END",
    "CREATE TRIGGER labeling_task_votes_recount_insert AFTER INSERT ON labeling_candidatevotecounts BEGIN "
    + _RECOUNT_TASK_VOTES.format(task="NEW.task_id")
    + "; END",
    "CREATE TRIGGER labeling_task_votes_recount_update AFTER UPDATE ON labeling_candidatevotecounts"
    " WHEN OLD.up_votes <> NEW.up_votes OR OLD.down_votes <> NEW.down_votes BEGIN "
    + _RECOUNT_TASK_VOTES.format(task="NEW.task_id")
    + "; END",
    "CREATE TRIGGER labeling_task_votes_recount_delete AFTER DELETE ON labeling_candidatevotecounts BEGIN "
    + _RECOUNT_TASK_VOTES.format(task="OLD.task_id")
    + "; END",
    "CREATE TRIGGER labeling_task_picks_recount_insert AFTER INSERT ON labeling_preference BEGIN "
    + _RECOUNT_TASK_PICKS.format(task="NEW.task_id")
    + "; END",
    "CREATE TRIGGER labeling_task_picks_recount_update AFTER UPDATE OF choice, chosen_id ON labeling_preference BEGIN "
    + _RECOUNT_TASK_PICKS.format(task="NEW.task_id")
    + "; END",
    "CREATE TRIGGER labeling_task_picks_recount_delete AFTER DELETE ON labeling_preference BEGIN "
    + _RECOUNT_TASK_PICKS.format(task="OLD.task_id")
    + "; END",
]
SQLITE_REVERSE = [
    f"DROP TRIGGER {name}"
    for name in (
        "labeling_task_made",
        "labeling_candidate_made",
        "labeling_vote_counted_insert",
        "labeling_vote_counted_update",
        "labeling_vote_counted_delete",
        "labeling_task_votes_recount_insert",
        "labeling_task_votes_recount_update",
        "labeling_task_votes_recount_delete",
        "labeling_task_picks_recount_insert",
        "labeling_task_picks_recount_update",
        "labeling_task_picks_recount_delete",
    )
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"judgement counts are kept by triggers on PostgreSQL and SQLite, not on {vendor}")
        for statement in statements[vendor]:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0015_gold_queue_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="TaskJudgementCounts",
            fields=[
                (
                    "task",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="judgement_counts",
                        serialize=False,
                        to="labeling.task",
                    ),
                ),
                ("fewest_votes", models.PositiveIntegerField(default=0)),
                ("fewest_split_votes", models.PositiveIntegerField(null=True)),
                ("picks_differ", models.BooleanField(default=False)),
            ],
        ),
        migrations.CreateModel(
            name="CandidateVoteCounts",
            fields=[
                (
                    "candidate",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="vote_counts",
                        serialize=False,
                        to="labeling.candidate",
                    ),
                ),
                ("up_votes", models.PositiveIntegerField(default=0)),
                ("down_votes", models.PositiveIntegerField(default=0)),
                (
                    "task",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="labeling.task"
                    ),
                ),
            ],
        ),
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL + _BACKFILL, "sqlite": SQLITE + _BACKFILL}),
            _run({"postgresql": POSTGRESQL_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
