from django import template

from generation.llm import llm_configured as _llm_configured

register = template.Library()


@register.simple_tag
def llm_configured() -> bool:
    return _llm_configured()
