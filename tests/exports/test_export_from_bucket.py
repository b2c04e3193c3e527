"""The export reads candidate images from an S3-compatible bucket (a real Moto server) when media live there."""

from exports.models import ExportRun
from exports.run import export_run
from labeling.models import Vote
from tests.exports.conftest import read_table
from tests.factories import make_ready_task, png_bytes


def test_images_in_a_bucket_are_copied_into_the_dataset(project, annotator, oxen_repo, media_in_bucket):
    task = make_ready_task(project, candidates=2)
    for candidate in task.candidates.all():
        Vote.objects.create(user=annotator, candidate=candidate, value=Vote.Value.UP)

    assert export_run().status == ExportRun.Status.SUCCEEDED
    votes = read_table(oxen_repo, "votes")
    by_uid = {str(candidate.uid): candidate.index for candidate in task.candidates.all()}
    assert len(votes) == 2
    for path, uid in zip(votes["path"], votes["candidate_uid"], strict=True):
        assert (oxen_repo / path).read_bytes() == png_bytes(by_uid[uid] * 40)


def test_an_image_missing_from_the_bucket_fails_the_run_with_its_name_and_loses_no_vote(
    project, annotator, oxen_repo, media_in_bucket
):
    task = make_ready_task(project, candidates=1)
    candidate = task.candidates.get()
    Vote.objects.create(user=annotator, candidate=candidate, value=Vote.Value.UP)
    media_in_bucket.client().delete_object(Bucket=media_in_bucket.name, Key=f"media/{candidate.image.name}")

    run = export_run()
    assert run.status == ExportRun.Status.FAILED
    assert f"The image file {candidate.image.name!r} could not be read from media storage" in run.error_message

    # Once the file is back, the next run exports the vote that waited.
    media_in_bucket.client().put_object(
        Bucket=media_in_bucket.name, Key=f"media/{candidate.image.name}", Body=png_bytes(0)
    )
    assert export_run().status == ExportRun.Status.SUCCEEDED
    assert list(read_table(oxen_repo, "votes")["candidate_uid"]) == [str(candidate.uid)]
