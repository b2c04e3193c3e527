"""Data for the fault tests, written by a ``manage.py shell`` subprocess into a private database."""

import json
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.hashers import make_password

from accounts.models import User
from labeling.models import Candidate, Membership, Project, Task


def session_for(user: User) -> str:
    """A logged-in session, as the login page would leave it; returns its key (the session cookie)."""
    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.ACCOUNT_LOGIN_BACKEND
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def seed_voting(annotators: int = 4, tasks: int = 30) -> None:
    """Annotators of one project and ready tasks of 2 candidates each; prints their sessions and candidates."""
    project = Project.objects.create(slug="votes", name="Votes", votes_per_candidate=annotators, candidates_per_task=2)
    users = User.objects.bulk_create(
        User(username=f"annotator{n}", password=make_password(None)) for n in range(annotators)
    )
    Membership.objects.bulk_create(Membership(user=user, project=project) for user in users)
    made = Task.objects.bulk_create(
        Task(project=project, prompt=f"prompt {n}", source=Task.Source.BATCH, status=Task.Status.READY)
        for n in range(tasks)
    )
    candidates = Candidate.objects.bulk_create(Candidate(task=task, index=i) for task in made for i in range(2))
    print(
        json.dumps(
            {
                "sessions": [session_for(user) for user in users],
                "candidates": [str(candidate.uid) for candidate in candidates],
                "task": made[0].pk,
            }
        )
    )
