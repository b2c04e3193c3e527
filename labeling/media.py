"""Candidate files in media storage, wherever it is (corral/media_storage.py chooses)."""

from django.core.files.storage import default_storage


def local_path(name: str) -> str | None:
    """The file's path on this machine's disk, or None when storage is remote (a bucket) and has no paths."""
    try:
        return default_storage.path(name)
    except NotImplementedError:  # Django's way for a storage to say it has no local paths
        return None
