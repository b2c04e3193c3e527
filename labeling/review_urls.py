"""URLs of the reviewer pages (LLM answers)."""

urlpatterns: list = []
