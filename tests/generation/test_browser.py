import pytest

from tests.generation.conftest import celery_worker, purge_queues

pytestmark = pytest.mark.browser
STEPS = 12

# Records every value the progress bar is given, so the test can see it move.
RECORD_PROGRESS = """
window.progressSeen = [];
new MutationObserver((records) => {
  for (const record of records) {
    if (record.target.classList && record.target.classList.contains("job-progress")) {
      window.progressSeen.push(Number(record.target.getAttribute("value")));
    }
  }
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["value"] });
"""
IMAGES_LOADED = """
() => {
  const images = [...document.querySelectorAll("#candidates img")];
  return images.length === 4 && images.every((image) => image.complete && image.naturalWidth === 64);
}
"""


def type_prompt_and_wait_for_the_worker(page, project):
    page.add_init_script(RECORD_PROGRESS)
    page.goto(f"/p/{project.slug}/")
    page.fill("#prompt-input", "a heron at dawn")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url("**/tasks/*/")
    page.locator("#job-status", has_text="Waiting for a worker").wait_for()
    page.evaluate("window.sameDocument = true")


@pytest.fixture
def slow_project(image_project):
    image_project.image_steps = STEPS
    image_project.save()
    purge_queues()
    return image_project


def test_an_annotator_types_a_prompt_and_sees_progress_then_the_images_without_a_reload(
    slow_project, annotator, login_page
):
    page = login_page(annotator)
    type_prompt_and_wait_for_the_worker(page, slow_project)

    with celery_worker():
        page.wait_for_function(IMAGES_LOADED, timeout=60_000)

    assert page.evaluate("window.sameDocument") is True
    seen = page.evaluate("window.progressSeen")
    assert seen and seen[-1] == STEPS and seen == sorted(seen)
    assert "Images generated" in page.locator("#job-status").inner_text()
    assert page.locator("#task-status").inner_text() == "Ready for feedback"


def test_without_a_websocket_the_page_polls_until_the_images_are_there(slow_project, annotator, login_page):
    page = login_page(annotator)
    page.route_web_socket("**/ws/jobs/**", lambda socket: socket.close())
    type_prompt_and_wait_for_the_worker(page, slow_project)

    with celery_worker():
        page.wait_for_function(IMAGES_LOADED, timeout=60_000)

    assert page.evaluate("window.sameDocument") is True
    assert "Images generated" in page.locator("#job-status").inner_text()
