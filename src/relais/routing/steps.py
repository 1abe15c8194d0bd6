"""The last two steps of the voicemail pipeline (see relais.voicemail.pipeline).

Both are idempotent: ``route`` stores its decision once (a second run finds it and
returns), ``notify`` only enqueues the sending of deliveries still pending, and each
send claims its delivery, so duplicates never send twice.
"""

from relais.voicemail import consent
from relais.voicemail.models import Voicemail
from relais.voicemail.pipeline import Stop, Wait

from . import notifications, services


def route(voicemail: Voicemail) -> None:
    """Decide who receives the voicemail; store the decision and the deliveries."""
    if voicemail.status == Voicemail.Status.ERASED:
        raise Stop(Voicemail.Status.ERASED, "message effacé avant le routage")
    # Consent must be final before anything is decided: while the caller may still be
    # answering the question, the step waits (state "waiting", no attempt counted), woken
    # as soon as the consent is final; after RELAIS_CONSENT_WAIT_SECONDS without an
    # answer it runs again and the consent becomes private.
    until = consent.pending_until(voicemail)
    if until is not None:
        raise Wait(until, "consentement de l'appelant pas encore définitif")
    services.route_voicemail(voicemail)


def notify(voicemail: Voicemail) -> None:
    """Hand the instant notifications to the notifications queue (digests wait)."""
    if voicemail.status == Voicemail.Status.ERASED:
        raise Stop(Voicemail.Status.ERASED, "message effacé avant la notification")
    notifications.dispatch_voicemail(voicemail)
