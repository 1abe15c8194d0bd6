"""Caller rights and retention: the policy behind the caller portal and the purge.

- :func:`request_code` / :func:`verify_code` — the caller proves the reference heard at
  the end of the call and the number they called from with a one-time code sent by SMS;
- :func:`portal_summary` — what the caller sees about their message (audited);
- :func:`withdraw_sharing` — shared deliveries revoked, unsent notifications cancelled,
  unshown unlocks refunded; idempotent;
- :func:`erase` — everything personal deleted, a tombstone of counts kept; idempotent,
  and a re-run finishes an interrupted erasure;
- :func:`purge` — the retention periods (settings ``RELAIS_RETENTION_*_DAYS``);
- :func:`delete_pending_files` — storage deletions queued by erasure and purge.

Views stay thin: they call these functions and show the messages they return or raise.
"""

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from relais.calls.models import Call
from relais.core import audit, phones, ratelimit, sms
from relais.credits import services as credits
from relais.directory.services import display_name
from relais.pros.models import Listing
from relais.routing import services as routing
from relais.routing.models import Delivery, Feedback, RoutingDecision
from relais.texts.models import Thread as SmsThread
from relais.voicemail.models import REFERENCE_LENGTH, Voicemail

from . import provider
from .models import Erasure, PendingFileDeletion, PortalChallenge

logger = logging.getLogger(__name__)

OTP_LENGTH = 6
# The same sentence whatever happened: the portal never says whether a reference exists.
CODE_SENT = ("Si cette référence et ce numéro correspondent à un message, un code à "
             f"{OTP_LENGTH} chiffres vient d'être envoyé par SMS à ce numéro. Il est valable "
             "10 minutes.")


class PortalError(Exception):
    """A refusal the caller is shown as is (French)."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message, self.code = message, code


# --- Proving the reference and the number --------------------------------------------------


def clean_reference(value: str) -> str:
    digits = re.sub(r"[\s.\-]", "", value or "")
    if not re.fullmatch(rf"\d{{{REFERENCE_LENGTH}}}", digits):
        raise PortalError(f"La référence compte {REFERENCE_LENGTH} chiffres : elle vous a été "
                          "lue à la fin de votre message.", "reference")
    return digits


def clean_number(value: str) -> str:
    try:
        return phones.to_e164(value)
    except phones.NumberError as exc:
        raise PortalError("Ce numéro de téléphone n'est pas valide.", "number") from exc


def _key(reference: str, e164: str) -> str:
    return salted_hmac("relais.privacy.portal", f"{reference}|{e164}",
                       algorithm="sha256").hexdigest()


def _code_hash(challenge_id, code: str) -> str:
    return salted_hmac("relais.privacy.otp", f"{challenge_id}|{code}",
                       algorithm="sha256").hexdigest()


def network_allowed(network: str, now: datetime | None = None) -> bool:
    """Count one code request from this client network (see
    :func:`relais.core.network.client_network`); False past the hourly cap."""
    return ratelimit.hit("portal-network", network,
                         settings.RELAIS_PORTAL_MAX_REQUESTS_PER_NETWORK, now)


def request_code(reference: str, number: str, now: datetime | None = None) -> PortalChallenge:
    """Record a request and, when reference and number match a message, send the code.

    Raises :class:`PortalError` on malformed input, when this reference was asked too
    often in the last hour whatever the number (``RELAIS_PORTAL_MAX_REQUESTS_PER_REFERENCE``:
    one message cannot be hammered from many networks), or when this (reference, number)
    has asked too often in the last hour or day. Every refusal is the same whether or not
    the reference exists. Otherwise the caller is told :data:`CODE_SENT` whether or not
    anything matched; the returned challenge is kept in their session.
    """
    reference, e164 = clean_reference(reference), clean_number(number)
    now = now or timezone.now()
    if not ratelimit.hit("portal-reference", reference,
                         settings.RELAIS_PORTAL_MAX_REQUESTS_PER_REFERENCE, now):
        raise PortalError("Trop de demandes de code pour cette référence. Réessayez dans "
                          "une heure.", "throttled")
    key = _key(reference, e164)
    asked = PortalChallenge.objects.filter(key=key)
    if asked.filter(created_at__gt=now - timedelta(hours=1)).count() >= \
            settings.RELAIS_OTP_MAX_SENDS_PER_HOUR:
        raise PortalError("Trop de demandes de code pour cette référence et ce numéro. "
                          "Réessayez dans une heure.", "throttled")
    # A daily cap too: it bounds guessing over weeks (5 tries × 6 codes a day).
    if asked.filter(created_at__gt=now - timedelta(days=1)).count() >= \
            settings.RELAIS_OTP_MAX_SENDS_PER_DAY:
        raise PortalError("Trop de demandes de code aujourd'hui pour cette référence et ce "
                          "numéro. Réessayez demain.", "throttled")
    voicemail = (Voicemail.objects.filter(reference=reference, caller_e164=e164)
                 .exclude(status=Voicemail.Status.ERASED).first())
    code = f"{secrets.randbelow(10 ** OTP_LENGTH):0{OTP_LENGTH}d}"
    challenge = PortalChallenge(key=key, voicemail=voicemail, created_at=now,
                                expires_at=now + timedelta(seconds=settings.RELAIS_OTP_TTL_SECONDS))
    challenge.code_hash = _code_hash(challenge.id, code)
    challenge.save()
    if voicemail is not None:
        try:
            sms.send_sms(e164, f"Relais : votre code est {code}. Il permet de consulter votre "
                               f"message {reference} ; ne le communiquez à personne.")
        except sms.SMSError:
            # Logged for the operator; the caller gets the usual answer (an error shown
            # only when the pair matches would tell who left a message).
            logger.exception("portal code for voicemail %s could not be sent", voicemail.pk)
        else:
            audit.record(actor=audit.Actor.system("portail appelant"),
                         action=audit.PORTAL_CODE_SENT, voicemail=voicemail)
    return challenge


def verify_code(challenge_id, code: str, now: datetime | None = None) -> Voicemail:
    """The voicemail the code opens, or :class:`PortalError` (wrong, expired, locked)."""
    now = now or timezone.now()
    challenge = PortalChallenge.objects.filter(pk=challenge_id).first() if challenge_id else None
    if challenge is None:
        raise PortalError("Demandez d'abord un code de vérification.", "missing")
    limit = settings.RELAIS_OTP_MAX_ATTEMPTS
    if challenge.verified_at is not None:
        raise PortalError("Ce code a déjà été utilisé. Demandez-en un nouveau.", "used")
    if challenge.attempts >= limit:
        raise PortalError("Trop d'essais : ce code est bloqué. Demandez-en un nouveau.",
                          "locked")
    if challenge.expires_at <= now:
        raise PortalError("Ce code a expiré. Demandez-en un nouveau.", "expired")
    # Count the attempt first, atomically: parallel guesses cannot exceed the limit.
    if not PortalChallenge.objects.filter(pk=challenge.pk, attempts__lt=limit,
                                          verified_at__isnull=True).update(
            attempts=F("attempts") + 1):
        raise PortalError("Trop d'essais : ce code est bloqué. Demandez-en un nouveau.",
                          "locked")
    code = re.sub(r"\s", "", code or "")
    good = constant_time_compare(_code_hash(challenge.pk, code), challenge.code_hash)
    if not good or challenge.voicemail_id is None:
        left = limit - challenge.attempts - 1
        if left <= 0:
            raise PortalError("Code incorrect. Trop d'essais : ce code est bloqué. "
                              "Demandez-en un nouveau.", "locked")
        raise PortalError(f"Code incorrect. Il vous reste {left} essai{'s' if left > 1 else ''}.",
                          "wrong")
    if not PortalChallenge.objects.filter(pk=challenge.pk, verified_at__isnull=True).update(
            verified_at=now):
        raise PortalError("Ce code a déjà été utilisé. Demandez-en un nouveau.", "used")
    voicemail = Voicemail.objects.get(pk=challenge.voicemail_id)
    audit.record(actor=audit.Actor.caller(), action=audit.PORTAL_OPENED, voicemail=voicemail)
    return voicemail


# --- What the caller sees -----------------------------------------------------------------

CALLER_STATUS = {
    Delivery.Status.PENDING: "transmis, notification en attente",
    Delivery.Status.SENT: "transmis et notifié",
    Delivery.Status.UNNOTIFIED: "transmis dans son espace professionnel",
    Delivery.Status.FAILED: "transmis, notification en échec",
    Delivery.Status.CANCELLED: "retiré avant d'être notifié",
    Delivery.Status.REVOKED: "retiré",
}


@dataclass
class Recipient:
    name: str
    own: bool
    status: str
    accessible: bool
    opened: bool


@dataclass
class Summary:
    voicemail: Voicemail
    erased: bool
    recipients: list[Recipient] = field(default_factory=list)
    unlocks: list = field(default_factory=list)
    events: list = field(default_factory=list)
    shared_active: int = 0
    listing_name: str = ""  # the called listing's honest name (never the NAF label)


def _listing_name(listing) -> str:
    return display_name(listing.establishment) if listing is not None else ""


def portal_summary(voicemail: Voicemail) -> Summary:
    """The caller's view of their message; reading its transcript is audited."""
    vm = Voicemail.objects.select_related("metier", "listing__establishment").get(
        pk=voicemail.pk)
    erased = vm.status == Voicemail.Status.ERASED
    deliveries = (Delivery.objects.filter(voicemail=vm)
                  .exclude(status=Delivery.Status.SKIPPED)
                  .select_related("listing__establishment").order_by("rank", "created_at"))
    summary = Summary(voicemail=vm, erased=erased, listing_name=_listing_name(vm.listing))
    for d in deliveries:
        summary.recipients.append(Recipient(
            name=_listing_name(d.listing), own=d.is_own,
            status=CALLER_STATUS.get(d.status, d.get_status_display()),
            accessible=d.accessible, opened=d.first_opened_at is not None,
        ))
        if not d.is_own and d.accessible:
            summary.shared_active += 1
    summary.unlocks = list(unlocks_of(vm))
    summary.events = [
        {"at": e.at, "who": _who(e), "what": audit.action_label(e.action)}
        for e in audit.events_for(vm)
    ]
    if vm.transcript and not erased:
        audit.record(actor=audit.Actor.caller(), action=audit.READ_TRANSCRIPT, voicemail=vm,
                     detail={"via": "portal"})
    return summary


def _who(event) -> str:
    kind = event.actor_kind
    if kind == "link":
        return event.actor_label or "un destinataire"
    if kind == "professional":
        name = ""
        if event.actor_listing_id:
            listing = (Listing.objects.select_related("establishment")
                       .filter(pk=event.actor_listing_id).first())
            name = _listing_name(listing)
        return name or "un professionnel"
    return {"operator": "un opérateur de Relais", "caller": "vous",
            "system": "Relais (automatique)"}.get(kind, kind)


# --- Credits (relais.credits): unlocks of the caller's number -----------------------------


def unlocks_of(voicemail: Voicemail):
    """Who unlocked this message's number and when (relais.credits)."""
    return credits.unlocks_for(voicemail)


def refund_unshown_unlocks(voicemail: Voicemail, *, reason: str, actor) -> int:
    """Refund the unlocks of this message whose number was never shown (relais.credits)."""
    return credits.refund_unshown(voicemail, reason=reason, actor=actor)


# --- Withdrawal ------------------------------------------------------------------------------


def _close_moderation(vm: Voicemail, code: str, text: str) -> int:
    """A message waiting for an operator's decision leaves the queue: nothing to share."""
    closed = 0
    for row in RoutingDecision.objects.select_for_update().filter(
            voicemail=vm, moderation=RoutingDecision.Moderation.PENDING):
        row.moderation = RoutingDecision.Moderation.REJECTED
        row.outcome = RoutingDecision.Outcome.OWN_ONLY
        row.reasons = [*row.reasons, {"code": code, "text": text}]
        row.moderated_at = timezone.now()
        row.save(update_fields=["moderation", "outcome", "reasons", "moderated_at"])
        closed += 1
    return closed


@dataclass
class Withdrawal:
    revoked: int
    refunded: int
    already: bool
    message: str


def withdraw_sharing(voicemail: Voicemail, *, actor: audit.Actor | None = None) -> Withdrawal:
    """The caller withdraws sharing: links of shared recipients stop working, emails not
    yet sent are never sent, unlocks whose number was not shown are refunded, and the
    consent becomes "this professional only" (a later moderation cannot share it).

    Idempotent. After an erasure it changes nothing and says so.
    """
    actor = actor or audit.Actor.caller()
    reason = "L'appelant a retiré le partage."
    with transaction.atomic():
        vm = Voicemail.objects.select_for_update().get(pk=voicemail.pk)
        if vm.status == Voicemail.Status.ERASED:
            return Withdrawal(0, 0, True, "Ce message a été effacé : il n'est plus transmis à "
                                          "personne.")
        already = vm.consent == Voicemail.Consent.PRIVATE
        if not already:
            Voicemail.objects.filter(pk=vm.pk).update(consent=Voicemail.Consent.PRIVATE,
                                                      updated_at=timezone.now())
        revoked = routing.revoke_shared(vm, reason, actor)
        refunded = refund_unshown_unlocks(vm, reason=reason, actor=actor)
        _close_moderation(vm, "consent_withdrawn", reason)
        if revoked or refunded or not already:
            audit.record(actor=actor, action=audit.SHARING_WITHDRAWN, voicemail=vm,
                         detail={"revoked": revoked, "refunded": refunded})
    if already and not (revoked or refunded):
        return Withdrawal(0, 0, True, "Le partage était déjà retiré : votre message n'est "
                                      "transmis qu'au professionnel que vous avez appelé.")
    return Withdrawal(revoked, refunded, False,
                      "Partage retiré : votre message n'est plus transmis qu'au professionnel "
                      f"que vous avez appelé ({revoked} destinataire"
                      f"{'s' if revoked > 1 else ''} retiré{'s' if revoked > 1 else ''}).")


# --- Erasure ---------------------------------------------------------------------------------

PERSONAL_EMPTY = {
    "caller_e164": "", "recording_url": "", "status_detail": "", "transcript": "",
    "words": [], "speech": {}, "reasons": [], "redacted_text": "", "audio": "", "extract": "",
    "duration_seconds": None, "recording_duration": None,
}


def duration_bucket(seconds: float | None) -> str:
    if seconds is None:
        return ""
    for limit, label in ((15, "< 15 s"), (30, "15–30 s"), (60, "30–60 s"), (120, "1–2 min")):
        if seconds < limit:
            return label
    return "≥ 2 min"


def _queue_files(vm: Voicemail, reason: str) -> list[str]:
    """Queue the stored recording and extract, and the provider's copy of the recording."""
    queued = [f.name for f in (vm.audio, vm.extract) if f.name]
    at_provider = provider.queue_name(vm)
    if at_provider and not PendingFileDeletion.objects.filter(name=at_provider).exists():
        queued.append(at_provider)
    for name in queued:
        PendingFileDeletion.objects.create(name=name, reason=reason, voicemail_id=vm.pk)
    return queued


def delete_pending_files(voicemail_id=None) -> int:
    """Delete the queued files from storage; a row goes once its file is gone."""
    rows = PendingFileDeletion.objects.all()
    if voicemail_id is not None:
        rows = rows.filter(voicemail_id=voicemail_id)
    done = 0
    for row in list(rows):
        try:
            if provider.is_provider_name(row.name):
                provider.delete(row.name)
            else:
                default_storage.delete(row.name)
        except Exception:  # storage or provider down: the row stays, the next run retries
            logger.exception("could not delete %s", row.name)
            continue
        PendingFileDeletion.objects.filter(pk=row.pk).delete()
        done += 1
    return done


@dataclass
class ErasureResult:
    already: bool
    message: str


def erase(voicemail: Voicemail, *, actor: audit.Actor | None = None,
          requested_by: str = Erasure.By.CALLER) -> ErasureResult:
    """Erase a message: recordings deleted from storage, transcripts and caller number
    emptied, every delivery revoked (links stop working, unsent emails never go),
    unshown unlocks refunded, the call's caller number emptied; an :class:`Erasure`
    tombstone keeps only non-personal counts.

    One transaction does the database part and queues the files; they are deleted after
    the commit. Erasing an erased message changes nothing, but finishes the deletion of
    files an interrupted run left queued.
    """
    actor = actor or audit.Actor.caller()
    reason = "Message effacé à la demande de l'appelant." if requested_by == Erasure.By.CALLER \
        else "Message effacé par un opérateur."
    with transaction.atomic():
        vm = Voicemail.objects.select_for_update().get(pk=voicemail.pk)
        already = vm.status == Voicemail.Status.ERASED
        if not already:
            deliveries = list(Delivery.objects.filter(voicemail=vm))
            for d in deliveries:
                routing.revoke_delivery(d, reason, actor)
            refunded = refund_unshown_unlocks(vm, reason=reason, actor=actor)
            _close_moderation(vm, "erased", reason)
            Erasure.objects.create(
                voicemail_id=vm.pk, requested_by=requested_by,
                received_on=timezone.localdate(vm.created_at),
                metier=vm.metier_id or "", consent=vm.consent,
                duration_bucket=duration_bucket(vm.duration_seconds or vm.recording_duration),
                recipients=sum(1 for d in deliveries if d.status != Delivery.Status.SKIPPED),
                shared_recipients=sum(1 for d in deliveries if not d.is_own
                                      and d.status != Delivery.Status.SKIPPED),
                unlocks=len(list(unlocks_of(vm))),
            )
            files = _queue_files(vm, "erasure")
            Voicemail.objects.filter(pk=vm.pk).update(
                status=Voicemail.Status.ERASED, updated_at=timezone.now(), **PERSONAL_EMPTY)
            Delivery.objects.filter(voicemail=vm).update(reason={}, distance_km=None)
            # What recipients wrote about it ("pas pour moi") may quote the caller.
            Feedback.objects.filter(delivery__voicemail=vm).update(comment="")
            if vm.call_id:
                Call.objects.filter(pk=vm.call_id).update(caller_e164="")
                SmsThread.objects.filter(call_id=vm.call_id).delete()
            SmsThread.objects.filter(voicemail=vm).delete()  # the SMS conversation's number
            audit.record(actor=actor, action=audit.ERASED, voicemail=vm,
                         detail={"files": len(files), "deliveries": len(deliveries),
                                 "refunded": refunded, "by": requested_by})
        transaction.on_commit(lambda: delete_pending_files(vm.pk))
    if already:
        return ErasureResult(True, "Ce message a déjà été effacé : il n'en reste rien de "
                                   "personnel.")
    return ErasureResult(False, "Votre message a été effacé : l'enregistrement, sa "
                                "transcription et votre numéro ont été supprimés, et plus "
                                "aucun professionnel n'y a accès.")


# --- Retention -------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    audio: int = 0
    transcripts: int = 0
    metadata: int = 0
    calls: int = 0
    files: int = 0
    codes: int = 0
    more: bool = False

    def __str__(self) -> str:
        return (f"{self.audio} enregistrement(s), {self.transcripts} transcription(s), "
                f"{self.metadata} message(s) (métadonnées), {self.calls} appel(s) purgés ; "
                f"{self.files} fichier(s) supprimé(s)")


def _cutoff(now: datetime, days: int) -> datetime:
    return now - timedelta(days=days)


def purge(now: datetime | None = None, batch: int | None = None) -> PurgeReport:
    """Apply the retention periods; each purged message leaves an audit row.

    - recordings and extracts older than ``RELAIS_RETENTION_AUDIO_DAYS``: files deleted
      from storage, fields emptied;
    - transcripts, words, redacted text, understanding reasons older than
      ``RELAIS_RETENTION_TRANSCRIPT_DAYS``: emptied;
    - routing metadata older than ``RELAIS_RETENTION_METADATA_DAYS``: the caller's number
      (message and call), the deliveries' reasons and distances: emptied;
    - portal codes older than two days (kept that long for the daily limit): deleted.

    At most ``batch`` (``RELAIS_PURGE_BATCH``) messages of each kind per run, so the
    periodic job never holds a worker for long; ``report.more`` says whether some were
    left for the next run (``relais purge`` loops until none are).
    """
    now = now or timezone.now()
    batch = batch or settings.RELAIS_PURGE_BATCH
    report = PurgeReport()
    actor = audit.Actor.system("conservation")
    cfg = settings
    audio_before = _cutoff(now, cfg.RELAIS_RETENTION_AUDIO_DAYS)
    stale = Voicemail.objects.filter(created_at__lt=audio_before).exclude(
        audio="", extract="")
    for vm_id in stale.values_list("pk", flat=True)[:batch]:
        with transaction.atomic():
            vm = Voicemail.objects.select_for_update().get(pk=vm_id)
            files = _queue_files(vm, "retention")
            if not files:
                continue
            Voicemail.objects.filter(pk=vm.pk).update(audio="", extract="")
            audit.record(actor=actor, action=audit.PURGED_AUDIO, voicemail=vm,
                         detail={"files": len(files),
                                 "days": cfg.RELAIS_RETENTION_AUDIO_DAYS})
        report.audio += 1
    text_before = _cutoff(now, cfg.RELAIS_RETENTION_TRANSCRIPT_DAYS)
    texts = Voicemail.objects.filter(created_at__lt=text_before).filter(
        ~Q(transcript="") | ~Q(redacted_text="") | ~Q(words=[]) | ~Q(reasons=[])
        | ~Q(speech={}))
    for vm in texts.only("pk", "reference")[:batch]:
        with transaction.atomic():
            Voicemail.objects.filter(pk=vm.pk).update(transcript="", words=[], speech={},
                                                      redacted_text="", reasons=[])
            audit.record(actor=actor, action=audit.PURGED_TRANSCRIPT, voicemail=vm,
                         detail={"days": cfg.RELAIS_RETENTION_TRANSCRIPT_DAYS})
        report.transcripts += 1
    meta_before = _cutoff(now, cfg.RELAIS_RETENTION_METADATA_DAYS)
    old = Voicemail.objects.filter(created_at__lt=meta_before)
    with_meta = old.filter(
        ~Q(caller_e164="") | ~Q(recording_url="")
        | Q(pk__in=Delivery.objects.filter(voicemail__created_at__lt=meta_before)
            .filter(~Q(reason={}) | Q(distance_km__isnull=False)).values("voicemail_id")))
    for vm in with_meta.only("pk", "reference")[:batch]:
        with transaction.atomic():
            Voicemail.objects.filter(pk=vm.pk).update(caller_e164="", recording_url="")
            n = Delivery.objects.filter(voicemail_id=vm.pk).update(reason={}, distance_km=None)
            audit.record(actor=actor, action=audit.PURGED_METADATA, voicemail=vm,
                         detail={"deliveries": n, "days": cfg.RELAIS_RETENTION_METADATA_DAYS})
        report.metadata += 1
    with transaction.atomic():
        report.calls = Call.objects.filter(started_at__lt=meta_before).exclude(
            caller_e164="").update(caller_e164="")
        if report.calls:
            audit.record(actor=actor, action=audit.PURGED_METADATA,
                         detail={"calls": report.calls,
                                 "days": cfg.RELAIS_RETENTION_METADATA_DAYS})
    # Portal codes are only needed for the daily limit: two days, then gone.
    report.codes, _ = PortalChallenge.objects.filter(
        created_at__lt=now - timedelta(days=2)).delete()
    report.more = batch in (report.audio, report.transcripts, report.metadata)
    report.files = delete_pending_files()
    if report.audio or report.transcripts or report.metadata or report.calls:
        logger.info("retention purge: %s", report)
    return report
