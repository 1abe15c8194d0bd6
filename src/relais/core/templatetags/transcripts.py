"""``{% load transcripts %}``: a looping transcript shown up to its first repetition."""

from django import template

from relais.core import text

register = template.Library()


@register.filter
def has_loop(value) -> bool:
    return bool(value) and text.find_loop(str(value)) is not None


@register.filter
def without_loop(value) -> str:
    return text.without_loop(str(value or ""))
