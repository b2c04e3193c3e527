from django.urls import reverse

from labeling.models import Membership


def test_a_users_admin_page_lists_and_edits_their_project_memberships(client, staff, annotator, project):
    client.force_login(staff)
    page = client.get(reverse("admin:accounts_user_change", args=[annotator.pk])).content.decode()
    assert "Memberships" in page and 'name="memberships-0-role"' in page
    assert f'<option value="{project.pk}" selected>{project.name}</option>' in page
    assert Membership.objects.get(user=annotator).role == Membership.Role.ANNOTATOR
