"""``{% load directory %}``: SIRET and distances as the directory shows them.

Phone numbers come from core's library: ``{% load phones %}``, ``|phone_fr``.
"""

from django import template

from relais.directory.sirene import format_siret

register = template.Library()


@register.filter
def siret(value: str) -> str:
    """55203253400012 → 552 032 534 00012."""
    return format_siret(value or "")


@register.filter
def km(value: float) -> str:
    """A distance in French: 850 m, 2,4 km, 35 km."""
    if value is None:
        return ""
    if value < 1:
        return f"{round(value * 1000, -1):.0f} m"
    if value < 10:
        return f"{value:.1f} km".replace(".", ",")
    return f"{value:.0f} km"
