import pytest
from django.urls import reverse

from labeling.models import Task

PASSWORD = "correct horse battery staple"


@pytest.fixture
def task(project):
    return Task.objects.create(project=project, prompt="a heron", source=Task.Source.BATCH)


def test_anonymous_users_are_sent_to_login_from_every_page(client, project, task):
    pages = [
        reverse("labeling-dashboard"),
        reverse("labeling-project", args=[project.slug]),
        reverse("labeling-task", args=[task.pk]),
        reverse("accounts-password-change"),
        reverse("admin:index"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "login" in response["Location"], url


def test_a_member_logs_in_and_sees_their_projects(client, annotator, project):
    response = client.post(reverse("accounts-login"), {"username": "annie", "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.context["user"] == annotator
    assert project.name in response.content.decode()


def test_a_wrong_password_is_refused_with_a_message(client, annotator):
    response = client.post(reverse("accounts-login"), {"username": "annie", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_ends_the_session(client, annotator):
    client.force_login(annotator)
    client.post(reverse("accounts-logout"))
    assert client.get(reverse("labeling-dashboard")).status_code == 302


def test_a_user_changes_their_password(client, annotator):
    client.force_login(annotator)
    response = client.post(
        reverse("accounts-password-change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a much better passphrase",
            "new_password2": "a much better passphrase",
        },
    )
    assert response.status_code == 302
    annotator.refresh_from_db()
    assert annotator.check_password("a much better passphrase")


def test_users_get_a_pseudonymous_public_id(annotator, reviewer):
    assert annotator.public_id != reviewer.public_id
    assert str(annotator.public_id) not in {annotator.username, annotator.email}
