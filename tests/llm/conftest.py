import pytest

from labeling.models import Membership
from tests.conftest import make_user
from tests.llm.fake_openai import FakeOpenAI, start


@pytest.fixture
def writer(text_project):
    """An annotator of the text project who asks for answers."""
    user = make_user("wendy")
    Membership.objects.create(user=user, project=text_project, role=Membership.Role.ANNOTATOR)
    return user


@pytest.fixture
def fake_llm(settings):
    """The fake server, with the real openai client pointed at it through the settings."""
    fake = FakeOpenAI()
    server = start(fake)
    settings.OPENAI_BASE_URL = fake.base_url
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_TIMEOUT_SECONDS = 5.0
    settings.LLM_MAX_RETRIES = 3
    yield fake
    fake.release.set()
    server.shutdown()
    server.server_close()
