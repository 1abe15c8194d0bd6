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
from relais.routing.models import Feedback, RoutingDecision

REASON_FEEDBACK = "Jugée « pas pour moi » par {n} professionnels (pas une demande ou pas le " \
                  "bon métier)."
REASON_MODERATION = "Jugée par la modération : pas une demande ou pas le bon métier."


def feedback_saved(sender, instance: Feedback, created: bool, **kwargs) -> None:
    if not created:
        return
    vm = instance.delivery.voicemail
    n = (Feedback.objects.filter(delivery__voicemail=vm).values("delivery_id").distinct()
         .count())
    if n >= settings.RELAIS_RETURN_FEEDBACKS:
        credits.refund_unshown(vm, reason=REASON_FEEDBACK.format(n=n),
                               actor=audit.Actor.system("callbacks"))


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
