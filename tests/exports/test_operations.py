import threading

import oxen
import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from corral.celery import app as celery_app
from exports.lock import export_lock
from exports.models import ExportRun
from exports.run import export_run
from labeling.models import Vote
from tests.conftest import free_port
from tests.exports.conftest import read_table
from tests.factories import make_image_task


@pytest.fixture
def one_vote(project, annotator) -> Vote:
    task = make_image_task(project, "a red bird", count=2)
    return Vote.objects.create(user=annotator, candidate=task.candidates.first(), value=1)


@pytest.mark.fault
def test_an_unreachable_remote_fails_the_push_clearly_and_the_next_run_tries_again(
    oxen_repo, settings, one_vote, annotator
):
    settings.OXEN_REMOTE = f"http://127.0.0.1:{free_port()}/corral/dataset"
    settings.OXEN_API_KEY = "test-key"

    first = export_run()

    assert first.status == ExportRun.Status.SUCCEEDED and first.commit_id and not first.pushed
    assert settings.OXEN_REMOTE in first.error_message and "next export pushes" in first.error_message
    assert oxen.Repo(str(oxen_repo)).log()[0].id == first.commit_id
    assert list(read_table(oxen_repo, "votes").id) == [one_vote.pk]

    second = export_run()

    # Nothing new to commit, but the unpushed commit is pushed again (and fails again, saying so).
    assert second.commit_id == "" and settings.OXEN_REMOTE in second.error_message
    assert not ExportRun.objects.filter(pushed=True).exists()
    assert list(read_table(oxen_repo, "votes").id) == [one_vote.pk]


@pytest.mark.django_db(transaction=True)
def test_a_second_export_started_meanwhile_exits_cleanly(oxen_repo, one_vote):
    held, release = threading.Event(), threading.Event()

    def hold_lock():
        from django.db import connection

        with export_lock() as acquired:
            assert acquired
            held.set()
            release.wait(timeout=30)
        connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert held.wait(timeout=30)
        assert export_run() is None
        assert not ExportRun.objects.exists()
    finally:
        release.set()
        holder.join()

    assert export_run().status == ExportRun.Status.SUCCEEDED


def test_the_admin_export_now_button_queues_an_export(
    oxen_repo, client, staff, one_vote, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:exports_exportrun_export_now"))

    assert response.status_code == 302
    run = ExportRun.objects.get()
    assert run.status == ExportRun.Status.SUCCEEDED and run.counts["votes"] == 1
    assert "Export now" in client.get(reverse("admin:exports_exportrun_changelist")).text


@pytest.mark.django_db(transaction=True)
def test_the_export_is_scheduled_in_beat_with_the_configured_interval(settings):
    # The scheduler closes stale connections as it starts, hence a transactional test.
    DatabaseScheduler(app=celery_app)

    task = PeriodicTask.objects.get(name="export-oxen")
    assert task.task == "exports.tasks.export_to_oxen"
    assert task.interval.every == settings.EXPORT_INTERVAL_SECONDS
