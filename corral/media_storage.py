"""Where candidate images live: the local disk by default, an S3-compatible bucket when one is configured.

With a bucket, generation workers on other hosts need no shared disk: they write to the bucket, the web
process checks membership and redirects to a short-lived signed link, and the export reads from the bucket.
Credentials come from the environment as boto3 reads them (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...).
"""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
LOCAL_BACKEND = "django.core.files.storage.FileSystemStorage"


def bucket_and_prefix(storage_url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` as (bucket, prefix); anything else is a configuration error that says why."""
    parts = urlsplit(storage_url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(
            f"MEDIA_STORAGE_URL must look like s3://bucket or s3://bucket/prefix, not {storage_url!r}."
        )
    if parts.query or parts.fragment:
        raise ImproperlyConfigured(
            "MEDIA_STORAGE_URL takes no query or fragment: set AWS_S3_ENDPOINT_URL and AWS_S3_REGION_NAME instead."
        )
    return parts.netloc, parts.path.strip("/")


def media_storage(*, storage_url: str, bucket: str, endpoint_url: str, region: str, link_seconds: int) -> dict:
    """The STORAGES["default"] entry: a bucket from MEDIA_STORAGE_URL or AWS_STORAGE_BUCKET_NAME, else the disk."""
    if storage_url and bucket:
        raise ImproperlyConfigured("Set MEDIA_STORAGE_URL or AWS_STORAGE_BUCKET_NAME, not both.")
    if not (storage_url or bucket):
        return {"BACKEND": LOCAL_BACKEND}
    bucket, prefix = bucket_and_prefix(storage_url) if storage_url else (bucket, "")
    options = {
        "bucket_name": bucket,
        "location": prefix,
        # Objects stay private; the image view hands out signed links that expire.
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": link_seconds,
        # Signature version 4: what every AWS region and S3-compatible server accepts for signed links.
        "signature_version": "s3v4",
        # Candidate files are named by their uid, so the existence check before each upload would be wasted.
        "file_overwrite": True,
    }
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    if region:
        options["region_name"] = region
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}
