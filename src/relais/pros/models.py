"""Professionals: accounts, claimed listings and their settings."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from relais.directory.models import Establishment, Metier


class Professional(models.Model):
    """The account of a professional (one user, one or more claimed listings)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="professional"
    )
    email_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("professionnel")

    def __str__(self) -> str:
        return self.user.email or self.user.get_username()

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class Listing(models.Model):
    """An establishment claimed by a professional, with the settings calls rely on.

    A listing is "claimed" once the operator approved the claim; only claimed listings
    get a tracking number, receive messages and appear as recipients.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("en attente")
        APPROVED = "approved", _("approuvée")
        REJECTED = "rejected", _("refusée")

    class Notify(models.TextChoices):
        INSTANT = "instant", _("immédiate")
        DIGEST = "digest", _("résumé quotidien")
        OFF = "off", _("aucune")

    establishment = models.OneToOneField(
        Establishment, on_delete=models.PROTECT, related_name="listing"
    )
    professional = models.ForeignKey(
        Professional, on_delete=models.CASCADE, related_name="listings"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    forward_number = models.CharField(_("numéro de renvoi"), max_length=20, blank=True)
    metiers = models.ManyToManyField(Metier, blank=True, related_name="listings")
    service_radius_km = models.PositiveIntegerField(_("rayon d'intervention (km)"), default=30)
    notification_email = models.EmailField(_("e-mail de notification"), blank=True)
    notify = models.CharField(max_length=8, choices=Notify.choices, default=Notify.INSTANT)
    shared_paused = models.BooleanField(_("demandes partagées en pause"), default=False)
    # Opening hours (relais.pros.hours): outside them calls go straight to the voicemail.
    opening_hours = models.CharField(_("horaires d'ouverture"), max_length=300, blank=True)
    # Urgent requests outside opening hours may be texted to professionals who opted in.
    urgent_sms = models.BooleanField(_("demandes urgentes par SMS hors horaires"),
                                     default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("fiche revendiquée")
        verbose_name_plural = _("fiches revendiquées")

    def __str__(self) -> str:
        return f"{self.establishment.name} ({self.get_status_display()})"

    @property
    def claimed(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def holder_id(self) -> int | None:
        """The professional holding this listing with an approved claim, or None.

        Calls and deliveries record it when they are created (``professional``): access
        follows who held the listing at the time (see docs/privacy.md, "Change of hands").
        """
        return self.professional_id if self.claimed else None

    @classmethod
    def held_by(cls, professional, via: str = "listing") -> models.Q:
        """The query twin of :attr:`holder_id`: rows whose listing (the relation ``via``)
        ``professional`` holds with an approved claim."""
        return models.Q(**{f"{via}__professional": professional,
                           f"{via}__status": cls.Status.APPROVED})

    @property
    def email(self) -> str:
        return self.notification_email or self.professional.user.email
