"""The interactive API documentation in a real browser: served from this site's static files, never a CDN."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_member_reads_the_api_docs_and_tries_a_call_with_their_session(login_page, annotator, project):
    page = login_page(annotator)
    hosts = set()
    page.on("request", lambda request: hosts.add(request.url.split("/")[2]))
    page.goto("/api/v1/docs")
    operation = page.locator("#operations-projects-projects_list")
    expect(operation).to_be_visible()
    operation.locator(".opblock-summary").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    answer = page.locator(".live-responses-table .response")
    expect(answer.locator(".response-col_status")).to_have_text("200")
    expect(answer.locator(".microlight").first).to_contain_text('"slug": "birds"')
    assert hosts == {page.url.split("/")[2]}, f"requests left the site: {hosts}"
