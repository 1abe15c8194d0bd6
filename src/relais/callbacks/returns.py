"""Automatic credit returns, with their reason, no claim to file.

A professional's charge for a message (its :class:`~relais.credits.models.Unlock`, the
number never shown) is returned when:

- the caller withdraws (privacy's withdrawal refunds them: :func:`credits.refund_unshown`);
- the caller refuses call-backs (key 9: :func:`relais.callbacks.services.caller_refused`);
- the message is judged not a genuine request or the wrong trade: by the moderation
  (its decision rejected) or by "pas pour moi" feedback from ``RELAIS_RETURN_FEEDBACKS``
  (2) or more recipients — heard here through ``post_save`` of routing's models.
"""

from django.conf import settings
from django.db.models.signals import post_save

from relais.core import audit
from relais.credits import services as credits
from relais.credits.models import Unlock
from relais.routing.models import Delivery, Feedback, RoutingDecision
from relais.voicemail.models import Voicemail

from .models import CallbackRefusal

REASON_FEEDBACK = "Jugée « pas pour moi » par {n} professionnels (pas une demande ou pas le " \
                  "bon métier)."
REASON_MODERATION = "Jugée par la modération : pas une demande ou pas le bon métier."
REASON_REFUSED = "La personne a refusé les rappels pour ce message."
REASON_WITHDRAWN = "La personne a retiré sa demande."


def feedback_count(voicemail, professional_id=None) -> int:
    """Distinct professionals who said "pas pour moi", ``professional_id``'s own opinion
    not counted (nobody gets their own charge returned by saying so alone)."""
    rows = Feedback.objects.filter(delivery__voicemail=voicemail)
    if professional_id is not None:
        rows = rows.exclude(delivery__professional_id=professional_id)
    return rows.values("delivery__professional_id").distinct().count()


def reason_for(voicemail, professional_id=None) -> str | None:
    """Why a charge of this shared message is returned (so never taken), or None.

    The one rule read by the charge (skipped), :func:`~.services.start` (refused), the
    lead card and the returns below: the caller withdrew or refused call-backs; the
    moderation rejected the message; ``RELAIS_RETURN_FEEDBACKS`` or more other
    professionals said "pas pour moi"."""
    vm_id = getattr(voicemail, "pk", voicemail)
    vm = Voicemail.objects.filter(pk=vm_id).first()
    if vm is None:
        return None
    if vm.consent == Voicemail.Consent.PRIVATE and Delivery.objects.filter(
            voicemail_id=vm_id, kind=Delivery.Kind.SHARED).exists():
        return REASON_WITHDRAWN  # shared once, then the consent was withdrawn
    if CallbackRefusal.objects.filter(voicemail_id=vm_id).exists():
        return REASON_REFUSED
    if RoutingDecision.objects.filter(voicemail_id=vm_id,
                                      moderation=RoutingDecision.Moderation.REJECTED).exists():
        return REASON_MODERATION
    n = feedback_count(vm_id, professional_id)
    if n >= settings.RELAIS_RETURN_FEEDBACKS:
        return REASON_FEEDBACK.format(n=n)
    return None


def feedback_saved(sender, instance: Feedback, created: bool, **kwargs) -> None:
    if not created:
        return
    vm = instance.delivery.voicemail
    # Every charge not yet returned, each judged without its professional's own opinion
    # (so a charge taken after the first returns is returned too).
    for pro_id in set(Unlock.objects.filter(voicemail=vm, refunded_at__isnull=True,
                                            shown_at__isnull=True)
                      .values_list("professional_id", flat=True)):
        n = feedback_count(vm, pro_id)
        if n >= settings.RELAIS_RETURN_FEEDBACKS:
            credits.refund_unshown(vm, reason=REASON_FEEDBACK.format(n=n),
                                   actor=audit.Actor.system("callbacks"),
                                   professional_id=pro_id)


def decision_saved(sender, instance: RoutingDecision, **kwargs) -> None:
    if instance.moderation != RoutingDecision.Moderation.REJECTED:
        return
    if any(r.get("code") == "consent_withdrawn" for r in instance.reasons or []):
        return  # the withdrawal refunds with its own reason
    credits.refund_unshown(instance.voicemail, reason=REASON_MODERATION,
                           actor=audit.Actor.system("callbacks"))


def connect() -> None:
    post_save.connect(feedback_saved, sender=Feedback, dispatch_uid="callbacks-feedback")
    post_save.connect(decision_saved, sender=RoutingDecision,
                      dispatch_uid="callbacks-moderation")
