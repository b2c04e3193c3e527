"""Candidate images in an S3-compatible bucket (a real Moto server): settings, the image view, and refusals."""

import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

from corral.media_storage import media_storage
from tests.factories import make_ready_task, png_bytes
from tests.object_storage import LINK_SECONDS


def test_the_local_disk_is_the_default():
    assert media_storage(storage_url="", bucket="", endpoint_url="", region="", link_seconds=300) == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }


def test_a_storage_url_names_the_bucket_and_the_folder_inside_it():
    storage = media_storage(
        storage_url="s3://team-media/corral/images",
        bucket="",
        endpoint_url="http://minio:9000",
        region="eu-west-1",
        link_seconds=60,
    )
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert (
        storage["OPTIONS"].items()
        >= {
            "bucket_name": "team-media",
            "location": "corral/images",
            "endpoint_url": "http://minio:9000",
            "region_name": "eu-west-1",
            "querystring_auth": True,
            "querystring_expire": 60,
            "default_acl": None,
        }.items()
    )


def test_the_usual_bucket_setting_works_too():
    storage = media_storage(storage_url="", bucket="team-media", endpoint_url="", region="", link_seconds=300)
    assert storage["OPTIONS"]["bucket_name"] == "team-media" and storage["OPTIONS"]["location"] == ""


@pytest.mark.parametrize(
    ("storage_url", "bucket", "message"),
    [
        ("https://team-media.s3.amazonaws.com", "", "must look like s3://bucket"),
        ("s3://", "", "must look like s3://bucket"),
        ("s3://team-media?region=eu", "", "takes no query"),
        ("s3://team-media", "other-bucket", "not both"),
    ],
)
def test_a_malformed_storage_setting_says_what_is_wrong(storage_url, bucket, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        media_storage(storage_url=storage_url, bucket=bucket, endpoint_url="", region="", link_seconds=300)


def test_the_site_refuses_to_start_with_a_malformed_storage_url():
    done = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=django_settings.BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DEBUG": "1", "MEDIA_STORAGE_URL": "bucket-without-scheme"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "MEDIA_STORAGE_URL must look like s3://bucket or s3://bucket/prefix, not 'bucket-without-scheme'" in (
        done.stderr
    )


def test_images_are_written_to_the_bucket_not_the_disk(project, media_in_bucket, tmp_path):
    task = make_ready_task(project, candidates=2)
    names = [candidate.image.name for candidate in task.candidates.order_by("index")]
    assert media_in_bucket.keys() == sorted(f"media/{name}" for name in names)
    assert media_in_bucket.read(f"media/{names[1]}") == png_bytes(40)
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.png"))


def test_a_member_is_sent_to_a_signed_link_that_expires_and_serves_the_image(
    client, project, annotator, media_in_bucket
):
    candidate = make_ready_task(project, candidates=1).candidates.get()
    client.force_login(annotator)
    response = client.get(f"/candidates/{candidate.uid}/image")
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    link = urlsplit(response["Location"])
    assert f"{link.scheme}://{link.netloc}" == media_in_bucket.endpoint
    assert link.path == f"/{media_in_bucket.name}/media/{candidate.image.name}"
    assert parse_qs(link.query)["X-Amz-Expires"] == [str(LINK_SECONDS)]
    with urllib.request.urlopen(response["Location"], timeout=10) as image:
        assert image.read() == png_bytes(0)


def test_a_link_without_its_signature_is_refused_by_the_bucket(client, project, annotator, media_in_bucket):
    candidate = make_ready_task(project, candidates=1).candidates.get()
    client.force_login(annotator)
    link = urlsplit(client.get(f"/candidates/{candidate.uid}/image")["Location"])
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{link.scheme}://{link.netloc}{link.path}", timeout=10)
    assert refused.value.code == 403


def test_an_outsider_gets_no_link(client, project, outsider, media_in_bucket):
    candidate = make_ready_task(project, candidates=1).candidates.get()
    client.force_login(outsider)
    response = client.get(f"/candidates/{candidate.uid}/image")
    assert response.status_code == 404
    assert "Location" not in response


def test_a_visitor_who_is_not_logged_in_gets_no_link(client, project, media_in_bucket):
    candidate = make_ready_task(project, candidates=1).candidates.get()
    response = client.get(f"/candidates/{candidate.uid}/image")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
