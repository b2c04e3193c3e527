"""Run by test_forked_worker.py in its own process: what a prefork Celery worker does with an export.

The parent loads Django and Celery's task modules (as ``celery -A corral worker`` does before forking its
pool), seeds one voted image task, then forks; the child runs the export task and exits 0 when it finished.
The parent prints the child's fate: ``finished``, ``failed <status>`` or ``hung``.
"""

import os
import sys
import time

import django

django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from corral.celery import app  # noqa: E402

app.loader.import_default_modules()  # the worker's autodiscovery, in the parent, before the fork

from accounts.models import User  # noqa: E402
from labeling.models import Candidate, Project, Task, Vote  # noqa: E402

call_command("migrate", verbosity=0)
project = Project.objects.create(slug="birds", name="Birds")
task = Task.objects.create(project=project, prompt="a heron", source="batch", status="ready")
user = User.objects.create_user(username="annie", password=None)
for index in range(40):
    candidate = Candidate(task=task, index=index)
    candidate.image.save(f"c{index}.png", ContentFile(b"\x89PNG fake image %d" % index), save=True)
    Vote.objects.create(user=user, candidate=candidate, value=Vote.Value.UP)
connections.close_all()

pid = os.fork()
if pid == 0:
    try:
        from exports.tasks import export_to_oxen

        export_to_oxen.apply()
        from exports.models import ExportRun

        code = 0 if ExportRun.objects.filter(status=ExportRun.Status.SUCCEEDED).exists() else 3
    finally:
        os._exit(locals().get("code", 4))

deadline = time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print("finished" if status == 0 else f"failed {status}")
        sys.exit(0)
    time.sleep(0.1)
os.kill(pid, 9)
os.waitpid(pid, 0)
print("hung")
