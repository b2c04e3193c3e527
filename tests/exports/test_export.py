from datetime import timedelta

import oxen
import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from exports.due import export_due_count
from exports.models import ExportRun
from exports.run import export_run
from labeling.models import Preference, Review, Vote
from tests.exports.conftest import read_table
from tests.factories import make_image_task, make_text_task, make_user


@pytest.fixture
def feedback(project, text_project, annotator):
    """Two annotators' votes and picks on two image tasks, and reviews and a pick on text answers."""
    second = make_user("bert")
    birds = make_image_task(project, "a red bird")
    cats = make_image_task(project, "a grey cat")
    b = list(birds.candidates.all())
    c = list(cats.candidates.all())
    votes = [
        Vote.objects.create(user=annotator, candidate=b[0], value=1),
        Vote.objects.create(user=annotator, candidate=b[1], value=-1),
        Vote.objects.create(user=second, candidate=b[0], value=-1),
        Vote.objects.create(user=second, candidate=c[2], value=1),
        # Withdrawn before any export: nothing to publish.
        Vote.objects.create(user=second, candidate=c[3], value=0),
    ]
    best = Preference.objects.create(user=annotator, task=birds, choice="best", chosen=b[2])
    tie = Preference.objects.create(user=second, task=cats, choice="tie")
    Preference.objects.create(user=annotator, task=cats, choice="all_bad")

    answer = make_text_task(text_project, "What is 2+2?", ["4", "5"])
    one, two = answer.candidates.all()
    reviews = [
        Review.objects.create(reviewer=annotator, candidate=one, decision="accept", original_text="4"),
        Review.objects.create(
            reviewer=second, candidate=two, decision="correct", original_text="5", corrected_text="4"
        ),
        Review.objects.create(reviewer=annotator, candidate=two, decision="reject", original_text="5"),
    ]
    text_pick = Preference.objects.create(user=second, task=answer, choice="best", chosen=one)
    return {"votes": votes, "best": best, "tie": tie, "reviews": reviews, "text_pick": text_pick, "birds": b}


def test_it_exports_votes_picks_and_reviews_in_the_dataset_layout(oxen_repo, feedback, annotator):
    run = export_run()

    assert run.status == ExportRun.Status.SUCCEEDED
    votes = read_table(oxen_repo, "votes").set_index("id")
    published = feedback["votes"][:4]
    assert sorted(votes.index) == sorted(v.pk for v in published)
    ratings = {v.pk: {1: "good", -1: "bad"}[v.value] for v in published}
    assert votes["rating"].to_dict() == ratings
    first = votes.loc[published[0].pk]
    assert first["prompt"] == "a red bird"
    assert first["annotator"] == str(annotator.public_id)
    assert (first["model"], first["seed"], first["steps"], first["guidance"]) == ("tiny-sd", 1000, 10, 7.5)
    assert first["path"] == f"images/{run.batch}/{feedback['birds'][0].uid}.png"
    assert all((oxen_repo / path).is_file() for path in votes["path"])
    usernames = set(User.objects.values_list("username", flat=True))
    assert not usernames & set(votes["annotator"])

    pairs = read_table(oxen_repo, "preferences")
    best_rows = pairs[pairs.preference_id == feedback["best"].pk]
    chosen = f"images/{run.batch}/{feedback['birds'][2].uid}.png"
    # Best of four: three pairs, the best against each other one, labelled on whichever side it sits.
    assert len(best_rows) == 3
    for row in best_rows.itertuples():
        assert chosen in (row.jpg_0, row.jpg_1)
        assert row.label_0 == (1.0 if row.jpg_0 == chosen else 0.0)
    tie_rows = pairs[pairs.preference_id == feedback["tie"].pk]
    assert len(tie_rows) == 6 and set(tie_rows.label_0) == {0.5}
    assert len(pairs) == 9 and pairs["id"].is_unique

    reviews = read_table(oxen_repo, "reviews").set_index("id")
    assert reviews["decision"].to_dict() == {r.pk: r.decision for r in feedback["reviews"]}
    corrected = reviews.loc[feedback["reviews"][1].pk]
    assert (corrected["response"], corrected["final"], corrected["confidence"]) == ("5", "4", 0.4)

    dpo = read_table(oxen_repo, "text_dpo")
    assert sorted(zip(dpo.source, dpo.chosen, dpo.rejected, strict=True)) == [
        ("correction", "4", "5"),
        ("preference", "4", "5"),
    ]

    card = (oxen_repo / "README.md").read_text()
    assert "| votes | 4 |" in card and "| preferences | 9 |" in card and "Newest wins" in card
    log = oxen.Repo(str(oxen_repo)).log()
    assert log[0].id == run.commit_id and run.batch in log[0].message
    # One annotators row per person and project: annie and bert in each of the two projects.
    assert run.counts == {
        "votes": 4,
        "preferences": 9,
        "reviews": 3,
        "text_dpo": 2,
        "annotators": 4,
        "leaderboard": 0,
        "images": 8,
    }


def test_a_second_export_without_new_data_makes_no_commit(oxen_repo, feedback):
    first = export_run()
    commits = len(oxen.Repo(str(oxen_repo)).log())

    second = export_run()

    assert second.status == ExportRun.Status.SUCCEEDED and second.commit_id == ""
    assert len(oxen.Repo(str(oxen_repo)).log()) == commits
    assert sorted(p.name for p in (oxen_repo / "votes").iterdir()) == [f"{first.batch}.parquet"]


def test_a_flipped_vote_appears_again_with_a_newer_updated_at(oxen_repo, feedback):
    export_run()
    flipped, withdrawn = feedback["votes"][0], feedback["votes"][1]
    flipped.value = -1
    flipped.save()
    withdrawn.value = 0
    withdrawn.save()

    run = export_run()

    votes = read_table(oxen_repo, "votes")
    again = votes[votes.id == flipped.pk].sort_values("updated_at")
    assert list(again.rating) == ["good", "bad"] and again.updated_at.is_monotonic_increasing
    assert list(votes[votes.id == withdrawn.pk].sort_values("updated_at").rating) == ["bad", "withdrawn"]
    assert run.counts["votes"] == 2
    # The image was exported with the first batch and is referenced there, not copied again.
    assert run.counts["images"] == 0 and not (oxen_repo / "images" / run.batch).exists()
    assert again.path.nunique() == 1


def test_the_preferences_table_loads_into_diffusion_dpo_columns(oxen_repo, feedback):
    from PIL import Image

    export_run()

    pairs = read_table(oxen_repo, "preferences")[["caption", "jpg_0", "jpg_1", "label_0"]]
    assert len(pairs) == 9
    assert set(pairs.label_0) <= {0.0, 0.5, 1.0}
    for path in [*pairs.jpg_0, *pairs.jpg_1]:
        with Image.open(oxen_repo / path) as image:
            assert image.format == "PNG"


def test_the_command_exports_one_project_and_dry_runs_write_nothing(oxen_repo, feedback, project, capsys):
    call_command("export_oxen", "--dry-run")
    assert "votes 4, preferences 9, reviews 3, text_dpo 2, annotators 4, leaderboard 0, images 8" in (
        capsys.readouterr().out
    )
    assert not ExportRun.objects.exists()

    call_command("export_oxen", "--project", project.slug)

    assert "committed" in capsys.readouterr().out
    assert read_table(oxen_repo, "reviews").empty
    assert len(read_table(oxen_repo, "votes")) == 4


def test_a_vote_committed_late_with_an_older_timestamp_is_still_exported(oxen_repo, feedback, annotator):
    first = export_run()
    late = Vote.objects.create(user=annotator, candidate=feedback["birds"][3], value=1)
    # As if its transaction had been open while the first export started.
    Vote.objects.filter(pk=late.pk).update(updated_at=first.started_at - timedelta(minutes=1))

    run = export_run()

    votes = read_table(oxen_repo, "votes")
    assert run.counts["votes"] == 1
    assert list(votes.id).count(late.pk) == 1
    assert export_run().commit_id == ""


def test_a_row_stamped_on_a_whole_second_is_not_due_again_after_its_export(oxen_repo, feedback):
    """The ledger stores updated_at as the database returned it; SQLite writes a whole second without a fraction,
    and the ledger's copy must compare equal to it."""
    vote = feedback["votes"][0]
    Vote.objects.filter(pk=vote.pk).update(updated_at=timezone.now().replace(microsecond=0))

    export_run()

    assert export_due_count() == 0
    assert export_run().commit_id == ""


def newest_judgements(pairs, key: str):
    """The dataset card's rule: per judgement, only the rows of its newest version; then rows without a pair go."""
    newest = pairs.groupby(key).updated_at.transform("max")
    return pairs[pairs.updated_at == newest]


def test_a_published_pick_changed_to_all_bad_replaces_its_pairs_with_one_row_without_a_pair(oxen_repo, feedback):
    export_run()
    best, text_pick = feedback["best"], feedback["text_pick"]
    best.choice, best.chosen = Preference.Choice.ALL_BAD, None
    best.save()
    text_pick.choice, text_pick.chosen = Preference.Choice.TIE, None
    text_pick.save()

    run = export_run()

    pairs = newest_judgements(read_table(oxen_repo, "preferences"), "preference_id")
    retracted = pairs[pairs.preference_id == best.pk]
    assert list(retracted.id) == [f"{best.pk}:none"] and list(retracted.choice) == ["all_bad"]
    assert retracted.jpg_0.isna().all() and retracted.label_0.isna().all()
    training = pairs[pairs.jpg_0.notna()]
    assert set(training.preference_id) == {feedback["tie"].pk} and len(training) == 6
    text = newest_judgements(read_table(oxen_repo, "text_dpo"), "source_id")
    from_pick = text[(text.source == "preference") & (text.source_id == text_pick.pk)]
    assert list(from_pick.id) == [f"preference:{text_pick.pk}:none"] and from_pick.chosen.isna().all()
    assert run.counts["preferences"] == 1 and run.counts["text_dpo"] == 1

    # Nothing changed since: no further rows; a pick "all bad" from the start was never published, so no row.
    assert export_run().commit_id == ""
    never_published = Preference.objects.get(choice=Preference.Choice.ALL_BAD, task__prompt="a grey cat")
    assert not (read_table(oxen_repo, "preferences").preference_id == never_published.pk).any()
