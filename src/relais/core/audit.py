"""The audit trail: every read of a recording, transcript or caller number is recorded.

Usage, at the place where personal data is read (a view, an admin page, an export)::

    from relais.core import audit

    audit.record(
        actor=audit.Actor.link(delivery.listing),       # or .professional(user, listing),
        action=audit.READ_TRANSCRIPT,                   #    .operator(user), .system(name),
        voicemail=voicemail,                            #    .caller()
        delivery=delivery,                              # optional
        detail={"via": "signed-link"},                  # optional, JSON
    )

``record`` writes one append-only :class:`~relais.core.models.AuditEvent` row and
returns it. It is called inside the request/transaction that reads the data, so a read
that fails to be audited fails as a whole. Actions are short dotted strings; the ones
used so far are the constants below (the privacy app may add more).
"""

from dataclasses import dataclass

from .models import AuditEvent

# Reads of personal data
READ_AUDIO = "audio.read"  # the full recording
READ_EXTRACT = "extract.read"  # the bleeped extract
READ_TRANSCRIPT = "transcript.read"  # the full transcript
READ_REDACTED = "redacted.read"  # the redacted transcript
READ_CALLER_NUMBER = "caller_number.read"
# Disclosures and operator actions
EMAIL_SENT = "email.sent"  # a notification carrying (redacted) content was sent
MODERATION_APPROVED = "moderation.approved"
MODERATION_REJECTED = "moderation.rejected"
DELIVERY_RESENT = "delivery.resent"
DELIVERY_REVOKED = "delivery.revoked"
# Caller rights and retention (relais.privacy.services)
PORTAL_CODE_SENT = "portal.code_sent"  # a one-time code was sent to the caller by SMS
PORTAL_OPENED = "portal.opened"  # the caller proved the reference and the number
SHARING_WITHDRAWN = "sharing.withdrawn"
ERASED = "voicemail.erased"
PURGED_AUDIO = "retention.audio"  # recording and extract deleted (retention)
PURGED_TRANSCRIPT = "retention.transcript"  # transcript, words, redacted text emptied
PURGED_METADATA = "retention.metadata"  # caller number, routing reasons and distances

# How the caller portal and the docs name each action (French).
ACTION_LABELS = {
    READ_AUDIO: "écoute de l'enregistrement",
    READ_EXTRACT: "écoute de l'extrait anonymisé",
    READ_TRANSCRIPT: "lecture de la transcription",
    READ_REDACTED: "lecture du texte anonymisé",
    READ_CALLER_NUMBER: "lecture de votre numéro",
    EMAIL_SENT: "notification envoyée par e-mail",
    MODERATION_APPROVED: "partage approuvé par un opérateur",
    MODERATION_REJECTED: "partage refusé par un opérateur",
    DELIVERY_RESENT: "notification renvoyée",
    DELIVERY_REVOKED: "distribution retirée",
    PORTAL_CODE_SENT: "code de vérification envoyé par SMS",
    PORTAL_OPENED: "ouverture de votre espace appelant",
    SHARING_WITHDRAWN: "retrait du partage",
    ERASED: "effacement du message",
    PURGED_AUDIO: "enregistrement supprimé (durée de conservation)",
    PURGED_TRANSCRIPT: "transcription supprimée (durée de conservation)",
    PURGED_METADATA: "données de routage supprimées (durée de conservation)",
    "unlock.refunded": "déblocage remboursé",
    "unlock.created": "déblocage de votre numéro",
    "callback.started": "rappel via Relais demandé par un professionnel",
    "callback.charged": "mise en relation par téléphone (votre numéro n'a pas été communiqué)",
    "callback.refused": "refus des rappels (touche 9)",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


@dataclass(frozen=True)
class Actor:
    """Who reads: a kind plus, when known, a user and a listing (snapshot label)."""

    kind: str
    user_id: int | None = None
    listing_id: int | None = None
    label: str = ""

    @classmethod
    def professional(cls, user, listing=None) -> "Actor":
        return cls(AuditEvent.ActorKind.PROFESSIONAL, user.pk,
                   listing.pk if listing is not None else None, user.get_username())

    @classmethod
    def link(cls, listing, user=None) -> "Actor":
        """A recipient who opened a signed link (logged in or not)."""
        label = str(listing.establishment.name) if listing is not None else ""
        return cls(AuditEvent.ActorKind.LINK, getattr(user, "pk", None),
                   listing.pk if listing is not None else None, label)

    @classmethod
    def operator(cls, user) -> "Actor":
        return cls(AuditEvent.ActorKind.OPERATOR, user.pk, None, user.get_username())

    @classmethod
    def caller(cls) -> "Actor":
        return cls(AuditEvent.ActorKind.CALLER, label="appelant vérifié")

    @classmethod
    def system(cls, name: str) -> "Actor":
        return cls(AuditEvent.ActorKind.SYSTEM, label=name)


def record(*, actor: Actor, action: str, voicemail=None, delivery=None,
           detail: dict | None = None) -> AuditEvent:
    """Append one audit event; ``voicemail`` defaults to the delivery's voicemail."""
    if voicemail is None and delivery is not None:
        voicemail = delivery.voicemail
    return AuditEvent.objects.create(
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_listing_id=actor.listing_id,
        actor_label=actor.label[:255],
        action=action,
        voicemail_id=getattr(voicemail, "pk", None),
        voicemail_reference=getattr(voicemail, "reference", "") or "",
        delivery_id=getattr(delivery, "pk", None),
        detail=detail or {},
    )


def events_for(voicemail):
    """The audit trail of one message, newest first (for operators and the caller)."""
    return AuditEvent.objects.filter(voicemail_id=voicemail.pk)
