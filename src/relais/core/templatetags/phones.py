"""``{% load phones %}``: phone numbers shown French-formatted (:mod:`relais.core.phones`)."""

from django import template

from relais.core.phones import format_fr

register = template.Library()


@register.filter
def phone_fr(e164: str) -> str:
    """``{{ "+33199000001"|phone_fr }}`` → ``01 99 00 00 01``."""
    return format_fr(e164 or "")
