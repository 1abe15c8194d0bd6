"""The console's summary tables: figures per day, refreshed by a periodic job.

Derived data, no personal data: counts only, keyed by the message's local day (the call's
for calls), the called listing's département and a métier slug (the message's classified
métier; for calls, the called listing's first métier). :mod:`relais.console.summary`
recomputes whole days from the live tables; the console reads only these tables.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Latency histograms: a count per bucket, upper bounds in seconds (the last is open).
LATENCY_BUCKETS = (15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 86400,
                   3 * 86400, None)

COUNTERS = (
    "calls", "answered", "voicemails",
    # routing outcome of each message (exactly one each)
    "own_only", "shared", "moderation", "rejected", "unrouted",
    # why a message was not shared (a message may have several reasons)
    "why_consent", "why_not_request", "why_low_confidence", "why_metier_not_shareable",
    "why_no_metier", "why_no_recipient", "why_transcript_unreliable", "why_other",
    "shared_reached",  # shared messages that reached at least one other professional
    "recipients",  # shared deliveries made (not skipped)
    "deliveries", "wrong_metier", "not_request",  # "pas pour moi" on deliveries
    "unlocks", "credits_spent", "credits_returned",
    "emailed", "acted",  # messages with a first e-mail, deliveries with a first action
    "sms",  # messages that came by SMS (Voicemail.channel "sms"), included in voicemails
    "callbacks", "callbacks_connected",  # call-backs through Relais started; the caller reached
)


class DailyFigures(models.Model):
    """Counts of one day, for one département and one métier."""

    day = models.DateField()
    departement = models.CharField(max_length=3, blank=True)
    metier = models.CharField(max_length=64, blank=True)
    for _name in COUNTERS:
        locals()[_name] = models.PositiveIntegerField(default=0)
    # recording → first e-mail, and delivery → the professional's first action
    for _i in range(len(LATENCY_BUCKETS)):
        locals()[f"email_{_i}"] = models.PositiveIntegerField(default=0)
        locals()[f"action_{_i}"] = models.PositiveIntegerField(default=0)
    del _name, _i

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "departement", "metier"],
                                               name="console_daily_unique")]
        verbose_name = _("chiffres du jour")
        verbose_name_plural = _("chiffres par jour")

    def __str__(self) -> str:
        return f"{self.day} {self.departement or '—'} {self.metier or '—'}"


class CommuneDay(models.Model):
    """Messages of one day left for listings of one commune (the map)."""

    day = models.DateField()
    departement = models.CharField(max_length=3, blank=True)
    metier = models.CharField(max_length=64, blank=True)
    commune = models.CharField(max_length=5)
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "departement", "metier"],
                                name="console_commune_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.commune}: {self.messages}"


class ConfusionDay(models.Model):
    """"Pas mon métier" of one day: the métier predicted and the one suggested."""

    day = models.DateField()
    departement = models.CharField(max_length=3, blank=True)
    predicted = models.CharField(max_length=64, blank=True)
    suggested = models.CharField(max_length=64, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day", "departement"], name="console_confusion_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.predicted} → {self.suggested}: {self.count}"


class Refresh(models.Model):
    """When the summary was last refreshed (one row)."""

    name = models.CharField(max_length=32, primary_key=True)
    finished_at = models.DateTimeField()
    days = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"{self.name} {self.finished_at:%Y-%m-%d %H:%M}"


class ModerationVerdict(models.Model):
    """An operator's decision in the console's moderation queue (kept for training)."""

    class Action(models.TextChoices):
        APPROVE = "approve", _("partage approuvé")
        CHANGE = "change", _("métier corrigé, partage approuvé")
        REJECT = "reject", _("partage refusé")

    voicemail = models.ForeignKey("voicemail.Voicemail", on_delete=models.CASCADE,
                                  related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices)
    predicted_metier = models.CharField(max_length=64, blank=True)
    metier = models.CharField(max_length=64, blank=True)  # the métier the operator kept
    intent = models.CharField(max_length=32, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("décision de modération")
        verbose_name_plural = _("décisions de modération")

    def __str__(self) -> str:
        return f"{self.voicemail_id} {self.action}"
