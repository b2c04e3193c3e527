from django import template
from django.conf import settings

from generation import images
from generation.selectors import retry_allowed
from labeling.models import Project, Task

register = template.Library()


@register.simple_tag
def image_model_for(project: Project) -> dict:
    """The model the project generates with, and whether it is (or, in an arena, one of them is) the noise-drawing
    demo model."""
    model = images.configured_model(project.image_model)
    models = project.arena_model_list or [model]
    return {"name": model, "is_demo": any(images.is_demo_model(name) for name in models)}


@register.simple_tag
def can_retry(user, task: Task) -> bool:
    return retry_allowed(user=user, task=task)


@register.simple_tag
def websocket_origin() -> str:
    """Where pages open their websockets (WEBSOCKET_ORIGIN); empty for the page's own host."""
    return settings.WEBSOCKET_ORIGIN
