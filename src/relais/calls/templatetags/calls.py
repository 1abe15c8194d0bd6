"""``{% load calls %}``: phone numbers shown French-formatted, a listing's tracking number."""

from django import template

from relais.calls import numbers

register = template.Library()


@register.filter
def phone_fr(e164: str) -> str:
    """``{{ "+33199000001"|phone_fr }}`` → ``01 99 00 00 01``."""
    return numbers.format_fr(e164 or "")


@register.simple_tag
def tracking_number(listing) -> str:
    """``{% tracking_number listing as number %}``: the E.164 number to publish, or ""."""
    return numbers.public_number(listing) or ""
