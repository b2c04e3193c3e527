"""A real S3-compatible server for the object-storage tests: Moto's standalone server, speaking S3 over HTTP.

.ci/run starts one and names it in CORRAL_TEST_S3_ENDPOINT; elsewhere the tests start their own.
"""

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import boto3
import pytest

from corral.media_storage import media_storage
from tests.conftest import free_port, missing

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "corral-test", "AWS_SECRET_ACCESS_KEY": "corral-test-secret"}
REGION = "us-east-1"
LINK_SECONDS = 120


@dataclass(frozen=True)
class Bucket:
    endpoint: str
    name: str

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def keys(self) -> list[str]:
        listed = self.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.name, Key=key)["Body"].read()

    def env(self, prefix: str = "media") -> dict[str, str]:
        """The environment of a process that keeps its media in this bucket, under ``prefix``."""
        return {
            "MEDIA_STORAGE_URL": f"s3://{self.name}/{prefix}",
            "AWS_S3_ENDPOINT_URL": self.endpoint,
            "AWS_S3_REGION_NAME": REGION,
            **CREDENTIALS,
        }


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint, timeout=1).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def s3_endpoint():
    endpoint = os.environ.get("CORRAL_TEST_S3_ENDPOINT", "")
    if endpoint:
        if not _answers(endpoint):
            missing(f"the S3-compatible server at {endpoint} (CORRAL_TEST_S3_ENDPOINT)")
        yield endpoint
        return
    command = shutil.which("moto_server")
    if command is None:
        missing("moto_server (pip install 'moto[server]')")
    port = free_port()
    process = subprocess.Popen(
        [command, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not _answers(endpoint):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"moto_server did not start on {endpoint}")
        time.sleep(0.1)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3_bucket(s3_endpoint) -> Bucket:
    """A new, empty bucket of this test's own."""
    bucket = Bucket(endpoint=s3_endpoint, name=f"corral-{uuid.uuid4().hex[:12]}")
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket


@pytest.fixture
def media_in_bucket(settings, monkeypatch, s3_bucket):
    """This process keeps its media in the test's bucket, as a production web process with a bucket would."""
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": media_storage(
            storage_url=f"s3://{s3_bucket.name}/media",
            bucket="",
            endpoint_url=s3_bucket.endpoint,
            region=REGION,
            link_seconds=LINK_SECONDS,
        ),
    }
    return s3_bucket
