"""A caller's SMS conversation with one tracking number, and the inbound SMS seen."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from relais.calls.models import Call, TrackingNumber
from relais.pros.models import Listing
from relais.voicemail.models import Voicemail


class Thread(models.Model):
    """What Relais expects next from a caller texting a tracking number.

    ``invited``: Relais texted them after a missed call (or they wrote first): their next
    text is a request. ``consent``: the request exists (``voicemail``), Relais asked
    "répondez OUI"; the answer settles the consent. ``closed``: nothing is expected.
    """

    class State(models.TextChoices):
        INVITED = "invited", _("invité à écrire")
        CONSENT = "consent", _("consentement demandé")
        CLOSED = "closed", _("terminé")

    caller_e164 = models.CharField(max_length=20)
    tracking_number = models.ForeignKey(TrackingNumber, on_delete=models.CASCADE,
                                        related_name="+")
    listing = models.ForeignKey(Listing, null=True, on_delete=models.SET_NULL, related_name="+")
    # The call it follows (one thread per call: a retried status callback texts nothing
    # more); none when the caller wrote first.
    call = models.OneToOneField(Call, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    voicemail = models.ForeignKey(Voicemail, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    state = models.CharField(max_length=8, choices=State.choices, default=State.INVITED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["caller_e164", "tracking_number", "-created_at"])]
        verbose_name = _("conversation SMS")
        verbose_name_plural = _("conversations SMS")

    def __str__(self) -> str:
        return f"{self.pk} {self.state}"


class InboundSms(models.Model):
    """An inbound SMS already handled (its SID only: the text becomes the request's
    transcript, nothing else is kept). A provider retry finds it and changes nothing."""

    message_sid = models.CharField(max_length=64, unique=True)
    thread = models.ForeignKey(Thread, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("SMS reçu")
        verbose_name_plural = _("SMS reçus")

    def __str__(self) -> str:
        return self.message_sid


class UrgentPush(models.Model):
    """An urgent request texted to one recipient (relais.texts.urgent): at most once."""

    delivery = models.OneToOneField("routing.Delivery", on_delete=models.CASCADE,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("demande urgente envoyée par SMS")
        verbose_name_plural = _("demandes urgentes envoyées par SMS")

    def __str__(self) -> str:
        return str(self.delivery_id)
