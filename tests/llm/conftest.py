import pytest

from tests.llm.fake_openai import FakeOpenAI, start


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
