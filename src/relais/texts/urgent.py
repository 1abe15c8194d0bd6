"""Urgent requests outside opening hours, pushed by SMS to professionals who opted in.

A pipeline step (``urgent_sms``, after ``route``: relais/flow.py). It pushes nothing new
to anybody routing did not already choose: only the message's deliveries (its own, and
the shared ones routing created with the caller's consent and a confident decision) whose
listing opted in (``Listing.urgent_sms``), when the request was judged ``urgent`` and
came in outside the called listing's opening hours. The SMS carries the métier, the
*redacted* request (shortened) and the delivery's signed link — never the caller's
number or the reference — and goes to the listing's forward number when it is a French
mobile. At most once per delivery (:class:`~.models.UrgentPush`, written before sending).
"""

import logging

from relais.core import phones, sms
from relais.pros import hours
from relais.routing import links
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail

from . import services
from .models import UrgentPush

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 120


def after_hours(voicemail: Voicemail) -> bool:
    listing = voicemail.listing
    return listing is not None and not hours.is_open(listing.opening_hours,
                                                     voicemail.created_at)


def excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1].rstrip() + "…"


def urgent_sms(voicemail: Voicemail) -> None:
    """Pipeline step: text an urgent after-hours request to the opted-in recipients."""
    if voicemail.status == Voicemail.Status.ERASED or voicemail.urgency != "urgent":
        return
    if not voicemail.redacted_text or not after_hours(voicemail):
        return
    deliveries = (Delivery.objects.filter(voicemail=voicemail, listing__urgent_sms=True,
                                          status__in=Delivery.ACCESSIBLE)
                  .select_related("listing"))
    metier = voicemail.metier.label if voicemail.metier_id else "demande"
    for delivery in deliveries:
        try:
            number = phones.to_e164(delivery.listing.forward_number)
        except phones.NumberError:
            continue
        if not phones.is_french_mobile(number):
            continue
        _, new = UrgentPush.objects.get_or_create(delivery=delivery)
        if not new:
            continue
        body = services.text("urgent", metier=metier, text=excerpt(voicemail.redacted_text),
                             space=links.url(delivery))
        try:
            sms.send_sms(number, body)
        except sms.SMSError as exc:
            logger.warning("urgent sms for delivery %s not sent: %s", delivery.pk, exc)
