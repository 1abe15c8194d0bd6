"""Routing: who receives each message, the deliveries and their notifications.

- :class:`RecipientIndex` — derived data: one row per (eligible claimed listing, métier)
  with its position and grid cell, the table the geographic search reads.
- :class:`RoutingDecision` — the decision taken for one voicemail and its reasons, with
  the moderation state when it waits for an operator.
- :class:`Delivery` — one message addressed to one listing (its own message, or a shared
  request), with the state of its notification and the reason it was chosen.
- :class:`Digest` — one daily email listing a professional's deliveries of the day.
- :class:`CallerReport` — a professional reported a caller (stored as a keyed hash).
- :class:`Feedback` — "pas pour moi": a recipient says a request was not for them.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from relais.directory.models import Metier
from relais.pros.models import Listing, Professional
from relais.voicemail.models import Voicemail


class RecipientIndex(models.Model):
    """A claimed listing able to receive shared requests for one métier, at one place.

    Holds only eligible rows: the listing is approved, its establishment active and
    positioned, shared requests not paused. Maintained by :mod:`relais.routing.index`
    (signals on every relevant change, plus ``reconcile()`` for bulk updates). The index
    ``(metier, cell, …)`` covers every column the search reads.
    """

    metier = models.ForeignKey(Metier, on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    cell = models.IntegerField()
    latitude = models.FloatField()
    longitude = models.FloatField()
    service_radius_km = models.FloatField()
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="+",
                                db_index=False)
    professional_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["listing", "metier"], name="recipientindex_unique")
        ]
        indexes = [
            models.Index(
                fields=["metier", "cell", "latitude", "longitude", "service_radius_km",
                        "listing", "professional_id"],
                name="recipientindex_search",
            )
        ]
        verbose_name = _("index des destinataires")
        verbose_name_plural = _("index des destinataires")

    def __str__(self) -> str:
        return f"{self.listing_id} {self.metier_id} @{self.cell}"


class RoutingDecision(models.Model):
    """What the routing policy decided for one voicemail, and why."""

    class Outcome(models.TextChoices):
        OWN_ONLY = "own_only", _("destinataire appelé seulement")
        SHARED = "shared", _("partagé")
        MODERATION = "moderation", _("en modération")

    class Moderation(models.TextChoices):
        NONE = "", _("sans objet")
        PENDING = "pending", _("à modérer")
        APPROVED = "approved", _("partage approuvé")
        REJECTED = "rejected", _("partage refusé")

    voicemail = models.OneToOneField(Voicemail, on_delete=models.CASCADE,
                                     related_name="routing")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    # [{"code": "consent_private", "text": "L'appelant n'a pas accepté le partage."}, …]
    reasons = models.JSONField(default=list)
    # The facts and settings the decision was computed from (no personal data).
    facts = models.JSONField(default=dict)
    # Candidates considered and left out, with their reason codes (for the admin).
    excluded = models.JSONField(default=list, blank=True)
    moderation = models.CharField(max_length=8, choices=Moderation.choices, default="",
                                  blank=True)
    moderated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    moderated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["moderation", "created_at"])]
        verbose_name = _("décision de routage")
        verbose_name_plural = _("décisions de routage")

    def __str__(self) -> str:
        return f"{self.voicemail.reference}: {self.get_outcome_display()}"

    @property
    def reason_text(self) -> str:
        return " ".join(r.get("text", "") for r in self.reasons)


class ModerationItem(RoutingDecision):
    """The moderation queue in the admin: decisions waiting for an operator."""

    class Meta:
        proxy = True
        verbose_name = _("message à modérer")
        verbose_name_plural = _("file de modération")


class Digest(models.Model):
    """One daily email to a professional listing the day's deliveries (each its link)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("à envoyer")
        SENT = "sent", _("envoyé")
        FAILED = "failed", _("échec")
        CANCELLED = "cancelled", _("annulé")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    professional = models.ForeignKey(Professional, on_delete=models.CASCADE,
                                     related_name="digests")
    email = models.EmailField()
    day = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["professional", "email", "day"],
                                    name="one_digest_per_address_and_day")
        ]
        verbose_name = _("résumé quotidien")
        verbose_name_plural = _("résumés quotidiens")

    def __str__(self) -> str:
        return f"{self.email} {self.day}"


class Delivery(models.Model):
    """One voicemail addressed to one listing: its own message or a shared request.

    ``status`` is the state of the delivery and of its notification:

    - ``pending``: the notification email is still to be sent (now, or in the digest);
      the message is already in the professional's space;
    - ``sent``: the email (or the digest listing it) was accepted by the mail server;
    - ``unnotified``: delivered to the professional's space without email (notifications
      off, the called listing has no valid address, or the listing no longer belonged
      to its professional when the email was due) — ``status_reason`` says which;
    - ``failed``: the email could not be sent after every attempt (the admin can resend);
    - ``skipped``: not delivered at all (a shared recipient without a valid email);
    - ``cancelled``: withdrawn before the email was sent; ``revoked``: withdrawn after
      (links stop working). Neither is shown to the professional any more.

    Whatever the status, only ``professional`` may read it, and only while they hold the
    listing with an approved claim: see :mod:`relais.routing.access`.

    The primary key is a random UUID: it appears in URLs and is never guessable.
    """

    class Kind(models.TextChoices):
        OWN = "own", _("message reçu")
        SHARED = "shared", _("demande partagée")

    class Status(models.TextChoices):
        PENDING = "pending", _("à notifier")
        SENT = "sent", _("notifié")
        UNNOTIFIED = "unnotified", _("sans e-mail")
        FAILED = "failed", _("échec d'envoi")
        SKIPPED = "skipped", _("écarté")
        CANCELLED = "cancelled", _("annulé")
        REVOKED = "revoked", _("révoqué")

    class Channel(models.TextChoices):
        INSTANT = "instant", _("immédiat")
        DIGEST = "digest", _("résumé quotidien")
        OFF = "off", _("aucun e-mail")

    # Statuses under which the professional may see the message in their space and
    # open its link.
    ACCESSIBLE = (Status.PENDING, Status.SENT, Status.UNNOTIFIED, Status.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    voicemail = models.ForeignKey(Voicemail, on_delete=models.CASCADE,
                                  related_name="deliveries")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="deliveries")
    # The professional this delivery was made for: who held the listing with an approved
    # claim when it was created (None: nobody). Only they may read it, and only while
    # they still hold the listing (relais.routing.access).
    professional = models.ForeignKey(Professional, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     db_index=False)
    kind = models.CharField(max_length=6, choices=Kind.choices)
    # 0: own; 1…N: shared, nearest first; None: skipped
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    distance_km = models.FloatField(null=True, blank=True)
    # {"codes": [...], "text": "...", "metier": slug, "distance_km": 12.3, "rank": 1}
    reason = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=255, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices,
                               default=Channel.INSTANT)
    email = models.EmailField(blank=True)  # the address notified (snapshot)
    digest = models.ForeignKey(Digest, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="deliveries")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    first_opened_at = models.DateTimeField(null=True, blank=True)
    # Marked handled by the professional in their space (None: new).
    handled_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["voicemail", "listing"],
                                    name="one_delivery_per_listing"),
        ]
        indexes = [
            models.Index(fields=["listing", "status", "created_at"]),
            models.Index(fields=["professional", "status", "created_at"],
                         name="delivery_professional"),
            models.Index(fields=["status", "channel", "next_attempt_at"],
                         name="delivery_due", condition=Q(status="pending")),
        ]
        verbose_name = _("distribution")
        verbose_name_plural = _("distributions")

    def __str__(self) -> str:
        return f"{self.voicemail.reference} → {self.listing_id} ({self.kind}, {self.status})"

    @property
    def accessible(self) -> bool:
        return self.status in self.ACCESSIBLE

    @property
    def is_own(self) -> bool:
        return self.kind == self.Kind.OWN

    def media_filename(self, which: str, ext: str) -> str:
        """The file name a recording of this delivery is served under.

        Only the called professional's own delivery names the message's reference. A
        shared recipient's file is named after its delivery's random id: the reference,
        with the caller's number (once unlocked), opens the caller's portal.
        """
        if self.is_own:
            return f"message-{self.voicemail.reference}-{which}.{ext}"
        return f"extrait-{self.pk.hex}.{ext}"


class CallerReport(models.Model):
    """A professional reported a caller: they never receive that caller's requests.

    The caller's number is not stored: only an HMAC of its E.164 form keyed with
    SECRET_KEY (see :func:`relais.routing.services.caller_hash`). Rotating SECRET_KEY
    makes older reports stop matching.
    """

    professional = models.ForeignKey(Professional, on_delete=models.CASCADE,
                                     related_name="caller_reports")
    caller_hash = models.CharField(max_length=64, db_index=True)
    reason = models.CharField(max_length=255, blank=True)
    voicemail_reference = models.CharField(max_length=12, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["professional", "caller_hash"],
                                    name="one_report_per_caller")
        ]
        verbose_name = _("appelant signalé")
        verbose_name_plural = _("appelants signalés")

    def __str__(self) -> str:
        return f"{self.professional} ✕ {self.caller_hash[:12]}…"


class Feedback(models.Model):
    """"Pas pour moi": a recipient says a message was not for them, and why."""

    class Kind(models.TextChoices):
        WRONG_METIER = "wrong_metier", _("pas mon métier")
        NOT_A_REQUEST = "not_a_request", _("pas une demande")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=14, choices=Kind.choices)
    comment = models.TextField(blank=True)
    # What the message was classified as when the feedback was given (for retraining).
    predicted_metier = models.CharField(max_length=64, blank=True)
    suggested_metier = models.ForeignKey(Metier, null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "kind"], name="one_feedback_per_kind")
        ]
        verbose_name = _("retour « pas pour moi »")
        verbose_name_plural = _("retours « pas pour moi »")

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.kind}"
