"""Notifications: one email per delivery (or one daily digest), sent exactly once.

Every email is sent by a task on the ``notifications`` queue:

- :func:`dispatch` (the ``notify`` pipeline step, moderation approval, admin resend)
  enqueues :func:`send_delivery_task` for each *instant* delivery still ``pending``;
  *digest* deliveries wait for :func:`send_due_digests` (a periodic job) which groups
  them into one :class:`~relais.routing.models.Digest` per professional and address;
  *off* deliveries were created ``unnotified`` and are never emailed.
- Deliveries and digests are durable jobs (:mod:`relais.core.jobs`). A send **claims**
  the delivery (a conditional UPDATE taking a lease and counting the attempt: a second
  worker or a duplicate task finds nothing to claim), re-checks it is still pending and
  still readable by the professional it was made for (if the listing left them, the email
  is called off: the delivery becomes ``unnotified`` with its reason; digests leave such
  deliveries out the same way), sends through Django's email backend (``EMAIL_URL``) with
  a ``Message-ID`` derived from the delivery id, then marks it ``sent`` — a delivery
  marked sent is never claimed again.
- A failure (SMTP down, 4xx) releases the lease, stores the error and re-enqueues the
  task after an exponential backoff (``RELAIS_RETRY_BASE_SECONDS`` …
  ``RELAIS_RETRY_MAX_SECONDS``), up to ``RELAIS_NOTIFY_MAX_ATTEMPTS`` attempts (two days
  by default); a permanent refusal (5xx for the recipient) or the last attempt marks it
  ``failed`` (visible in the admin, which can resend). Nothing is lost: a task lost
  between commit and enqueue, or a worker killed mid-send, is picked up again by
  :func:`recover` (a periodic job) once its lease has run out.

Residual risk (documented in docs/routing.md): if the worker dies after the mail server
accepted the message and before "sent" is committed (a window of one UPDATE), the
delivery is sent again after the lease runs out — with the same Message-ID, so mail
clients that de-duplicate (Gmail does) show it once. Never lost, rarely duplicated.
"""

import logging
import smtplib
import time
from collections import defaultdict
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from relais.core import audit, jobs
from relais.core.tasks import task
from relais.core.text import single_line

from . import access, links, policy
from .models import Delivery, Digest

logger = logging.getLogger(__name__)

URGENCY_LABELS = {"urgent": "urgent", "soon": "à traiter rapidement"}


def lease_seconds() -> int:
    return settings.RELAIS_NOTIFY_LEASE_SECONDS


def max_attempts() -> int:
    return settings.RELAIS_NOTIFY_MAX_ATTEMPTS


def _domain() -> str:
    return urlsplit(settings.RELAIS_PUBLIC_URL).hostname or "relais.local"


def message_id(kind: str, pk) -> str:
    """A Message-ID that is the same on every attempt for the same delivery/digest."""
    return f"<{kind}.{pk}@{_domain()}>"


# --- Enqueueing ----------------------------------------------------------------------------


def _enqueue(task_fn, model, pk, delay: float = 0.0) -> None:
    jobs.enqueue(model.objects.filter(pk=pk), task_fn, str(pk), queue="notifications",
                 delay=delay)


def batch_size() -> int:
    return max(1, settings.RELAIS_NOTIFY_BATCH_SIZE)


def dispatch(deliveries) -> int:
    """Enqueue the sending of each instant delivery still pending; returns how many.

    Deliveries go in batches of ``RELAIS_NOTIFY_BATCH_SIZE``: one task per batch, which
    sends its emails over one SMTP connection (:func:`send_batch`); several workers on
    the ``notifications`` queue share the batches. A batch of one is a plain
    :func:`send_delivery_task`."""
    ids = [d.pk for d in deliveries
           if d.status == Delivery.Status.PENDING and d.channel == Delivery.Channel.INSTANT]
    size = batch_size()
    for start in range(0, len(ids), size):
        chunk = ids[start:start + size]
        if len(chunk) == 1:
            _enqueue(send_delivery_task, Delivery, chunk[0])
        else:
            jobs.enqueue(Delivery.objects.filter(pk__in=chunk), send_batch_task,
                         [str(pk) for pk in chunk], queue="notifications")
    return len(ids)


def dispatch_voicemail(voicemail) -> int:
    return dispatch(Delivery.objects.filter(
        voicemail=voicemail, status=Delivery.Status.PENDING, channel=Delivery.Channel.INSTANT
    ))


def resend(delivery: Delivery, user) -> bool:
    """Admin action: give a failed delivery a fresh set of attempts."""
    with transaction.atomic():
        n = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.FAILED).update(
            status=Delivery.Status.PENDING, attempts=0, next_attempt_at=None, lease_until=None,
            channel=Delivery.Channel.INSTANT,
        )
        if n:
            audit.record(actor=audit.Actor.operator(user), action=audit.DELIVERY_RESENT,
                         delivery=delivery)
            _enqueue(send_delivery_task, Delivery, delivery.pk)
    return bool(n)


# --- Claim, send, mark -------------------------------------------------------------------------

NOT_HELD = ("Notification annulée : la fiche n'est plus détenue (revendication approuvée) "
            "par le professionnel à qui ce message était destiné.")


def _call_off(pk) -> None:
    """The listing left the professional a pending delivery was made for: its email is
    never sent (to nobody: not to the listing's new address either). It becomes
    ``unnotified``, not ``cancelled``: it stays theirs, readable again only if the same
    listing is approved for them again (relais.routing.access), and leaves any digest."""
    n = jobs.finish(Delivery.objects.filter(pk=pk, status=Delivery.Status.PENDING),
                    status=Delivery.Status.UNNOTIFIED, status_reason=NOT_HELD, digest=None)
    if n:
        logger.info("delivery %s: notification called off, the listing left its "
                    "professional", pk)


def _still_theirs(delivery: Delivery) -> bool:
    """Whether the professional the delivery was made for may still read it; if not, its
    notification is called off (:func:`_call_off`)."""
    if access.may_read(delivery, delivery.professional_id):
        return True
    _call_off(delivery.pk)
    return False


def _claim(model, pk, extra: Q | None = None):
    """Take the row for this worker under a lease; None if not due, taken or done."""
    pending = model.objects.filter(pk=pk, status="pending")
    if extra is not None:
        pending = pending.filter(extra)
    if not jobs.claim(pending, lease_seconds()):
        return None
    return model.objects.get(pk=pk)


def permanent(exc: Exception) -> bool:
    """A refusal retrying will not fix (the recipient address is rejected for good)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(
            code >= 500 for code, _ in exc.recipients.values()
        )
    if isinstance(exc, smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    try:
        from anymail.exceptions import AnymailRecipientsRefused
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, AnymailRecipientsRefused)


class Sender:
    """One connection to the email backend, opened at the first message and kept for
    the next ones (a batch): :meth:`send` raises unless the server accepted the message.

    After a failure the connection is dropped (the next message opens a new one); it is
    closed at the end ignoring errors: a failing QUIT must not make an accepted message
    look failed (and be sent twice).
    """

    def __init__(self):
        self.connection = None

    def send(self, message: EmailMultiAlternatives) -> None:
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()
        try:
            accepted = self.connection.send_messages([message])
        except Exception:
            self.close()
            raise
        if accepted != 1:
            self.close()
            raise RuntimeError("the email backend did not accept the message")

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: S110 - accepted already; closing is best effort
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _transmit(message: EmailMultiAlternatives) -> None:
    """Send one message over its own connection; raises unless the server accepted it."""
    with Sender() as sender:
        sender.send(message)


def _mark(fn, what: str) -> None:
    """Record an outcome after the server accepted: retried, as losing it means resending."""
    for attempt in range(5):
        try:
            fn()
            return
        except DatabaseError:
            if attempt == 4:
                logger.critical("%s accepted by the mail server but could not be marked "
                                "sent; it will be sent again after its lease", what)
                raise
            time.sleep(0.2 * 2 ** attempt)


def _failed(model, obj, exc: Exception, task_fn) -> str:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if permanent(exc) or obj.attempts >= max_attempts():
        jobs.finish(model.objects.filter(pk=obj.pk, status="pending"),
                    status="failed", last_error=error)
        if model is Digest:
            # Its deliveries become failed too: the admin resends them one by one.
            Delivery.objects.filter(digest=obj, status=Delivery.Status.PENDING).update(
                status=Delivery.Status.FAILED, last_error=error
            )
        logger.error("%s %s: notification failed for good: %s", model.__name__, obj.pk, error)
        return "failed"
    delay = jobs.backoff(obj.attempts, settings.RELAIS_RETRY_BASE_SECONDS,
                         settings.RELAIS_RETRY_MAX_SECONDS)
    with transaction.atomic():
        jobs.release(model.objects.filter(pk=obj.pk, status="pending"), delay,
                     last_error=error)
        _enqueue(task_fn, model, obj.pk, delay)
    logger.warning("%s %s: attempt %d failed (%s), retry in %.0fs", model.__name__, obj.pk,
                   obj.attempts, error, delay)
    return "retry"


@task(queue_name="notifications")
def send_delivery_task(delivery_id: str) -> str:
    return send_delivery(delivery_id)


@task(queue_name="notifications")
def send_batch_task(delivery_ids: list[str]) -> dict:
    return send_batch(delivery_ids)


def send_batch(delivery_ids) -> dict:
    """Send the emails of several instant deliveries over one SMTP connection.

    One ``UPDATE … RETURNING`` claims the batch (:func:`relais.core.jobs.claim_many`:
    the rows another worker holds or that are done are not taken), one query checks who
    may still read them, one loads them; then each email is sent and marked ``sent`` on
    its own, right after the server accepted it (the window of the residual risk stays
    one UPDATE). A failure of one (a refused address, a dropped connection) retries that
    one alone. Returns how many ended each way."""
    outcomes: dict[str, int] = defaultdict(int)
    claimed = jobs.claim_many(
        Delivery.objects.filter(pk__in=list(delivery_ids), status=Delivery.Status.PENDING,
                                channel=Delivery.Channel.INSTANT), lease_seconds())
    outcomes["skipped"] = len(delivery_ids) - len(claimed)
    readable = access.readable_by_their_professional(claimed)
    for pk in claimed:
        if pk not in readable:
            _call_off(pk)
            outcomes["cancelled"] += 1
    deliveries = list(Delivery.objects.filter(pk__in=list(readable)).select_related(
        "voicemail__metier", "listing__establishment", "listing__professional__user"))
    missing = [d for d in deliveries if not d.message_id]
    for d in missing:
        d.message_id = message_id("delivery", d.pk)
    Delivery.objects.bulk_update(missing, ["message_id"])
    # The batch holds every lease from the claim on: past half of it (a slow relay),
    # the rest is handed back before another worker may take it over.
    hand_back_at = time.monotonic() + lease_seconds() / 2
    with Sender() as sender:
        for i, delivery in enumerate(deliveries):
            if time.monotonic() > hand_back_at:
                rest = [d.pk for d in deliveries[i:]]
                with transaction.atomic():
                    jobs.postpone(Delivery.objects.filter(
                        pk__in=rest, status=Delivery.Status.PENDING), None)
                    dispatch(Delivery.objects.filter(pk__in=rest))
                outcomes["handed back"] += len(rest)
                break
            outcomes[_send_claimed(delivery, sender)] += 1
    return {k: v for k, v in outcomes.items() if v}


def send_delivery(delivery_id, sender: Sender | None = None) -> str:
    """Send the email of one instant delivery, exactly once (see the module docstring);
    over ``sender``'s connection if given (a batch), else over its own."""
    delivery = _claim(Delivery, delivery_id, Q(channel=Delivery.Channel.INSTANT))
    if delivery is None:
        return "skipped"
    if not _still_theirs(delivery):
        return "cancelled"
    delivery = Delivery.objects.select_related(
        "voicemail__metier", "listing__establishment", "listing__professional__user"
    ).get(pk=delivery.pk)
    if not delivery.message_id:
        delivery.message_id = message_id("delivery", delivery.pk)
        Delivery.objects.filter(pk=delivery.pk).update(message_id=delivery.message_id)
    return _send_claimed(delivery, sender)


def _send_claimed(delivery: Delivery, sender: Sender | None) -> str:
    """Send and mark a delivery this worker claimed (loaded with its email's relations,
    its Message-ID set)."""
    try:
        message = build_delivery_email(delivery)
        if sender is None:
            _transmit(message)
        else:
            sender.send(message)
    except Exception as exc:
        return _failed(Delivery, delivery, exc, send_delivery_task)

    def mark():
        with transaction.atomic():
            n = jobs.finish(
                Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING),
                status=Delivery.Status.SENT, sent_at=timezone.now(), last_error="",
            )
            if n:
                _audit_sent(delivery, "instant")

    _mark(mark, f"delivery {delivery.pk}")
    return "sent"


def _audit_sent(delivery: Delivery, channel: str) -> None:
    audit.record(actor=audit.Actor.system("notifications"), action=audit.EMAIL_SENT,
                 delivery=delivery, voicemail=delivery.voicemail,
                 detail={"channel": channel, "content": "redacted",
                         "to_listing": delivery.listing_id})


# --- Email content -------------------------------------------------------------------------


def _context(delivery: Delivery) -> dict:
    vm = delivery.voicemail
    return {
        "delivery": delivery,
        "voicemail": vm,
        "listing": delivery.listing,
        "is_own": delivery.is_own,
        "metier": vm.metier.label if vm.metier_id else "",
        "urgency": URGENCY_LABELS.get(vm.urgency, ""),
        "distance": policy.km(delivery.distance_km) if delivery.distance_km else "",
        "redacted_text": vm.redacted_text,
        "transcript_reliable": vm.transcript_reliable,
        "link": links.url(delivery),
        "max_age_days": settings.RELAIS_LINK_MAX_AGE_DAYS,
        "received_at": timezone.localtime(vm.created_at),
    }


def delivery_subject(ctx: dict) -> str:
    parts = []
    if ctx["is_own"]:
        parts.append(f"Nouveau message pour {ctx['listing'].establishment.name}")
        if ctx["metier"]:
            parts.append(ctx["metier"])
    else:
        head = "Demande partagée"
        if ctx["metier"]:
            head += f" : {ctx['metier']}"
        if ctx["distance"]:
            head += f" à {ctx['distance']}"
        parts.append(head)
    if ctx["urgency"]:
        parts.append(ctx["urgency"].upper() if ctx["urgency"] == "urgent" else ctx["urgency"])
    # A header is one line: a name stored with a line break (imported before the importer
    # removed them) would make the email fail (BadHeaderError).
    return single_line("[Relais] " + " · ".join(parts))


def _headers(msgid: str) -> dict:
    return {"Message-ID": msgid, "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All"}


def build_delivery_email(delivery: Delivery) -> EmailMultiAlternatives:
    """The French text + HTML email of one delivery, with its personal link."""
    with translation.override("fr"):
        ctx = _context(delivery)
        text = render_to_string("routing/email/delivery.txt", ctx)
        html = render_to_string("routing/email/delivery.html", ctx)
        subject = delivery_subject(ctx)
    message = EmailMultiAlternatives(
        subject=subject, body=text, to=[delivery.email],
        headers=_headers(delivery.message_id or message_id("delivery", delivery.pk)),
    )
    message.attach_alternative(html, "text/html")
    return message


# --- Daily digests ---------------------------------------------------------------------------


def digest_cutoff(now: datetime) -> datetime | None:
    """Today's digest time (local) if it has passed, else None."""
    local = timezone.localtime(now)
    cutoff = local.replace(hour=settings.RELAIS_DIGEST_HOUR, minute=0, second=0, microsecond=0)
    return cutoff if local >= cutoff else None


def send_due_digests(now: datetime | None = None) -> int:
    """Periodic job: after RELAIS_DIGEST_HOUR, one digest per professional and address
    gathering the pending digest deliveries created before that time; returns how many
    digests were enqueued."""
    now = now or timezone.now()
    cutoff = digest_cutoff(now)
    if cutoff is None:
        return 0
    day = cutoff.date()
    pending = Delivery.objects.filter(
        status=Delivery.Status.PENDING, channel=Delivery.Channel.DIGEST, digest__isnull=True,
        created_at__lt=cutoff,
    ).values_list("pk", "professional_id", "email")
    groups: dict[tuple[int, str], list] = defaultdict(list)
    for pk, pro_id, email in pending:
        groups[(pro_id, email)].append(pk)
    enqueued = 0
    for (pro_id, email), ids in groups.items():
        readable = set(access.readable_deliveries(pro_id).filter(pk__in=ids)
                       .values_list("pk", flat=True))
        for pk in set(ids) - readable:  # the listing left its professional
            _call_off(pk)
        ids = [pk for pk in ids if pk in readable]
        if not ids:
            continue
        with transaction.atomic():
            digest, _ = Digest.objects.get_or_create(professional_id=pro_id, email=email, day=day)
            if digest.status != Digest.Status.PENDING:
                continue  # already sent today: these wait for tomorrow's
            Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING,
                                    digest__isnull=True).update(digest=digest)
            _enqueue(send_digest_task, Digest, digest.pk)
            enqueued += 1
    return enqueued


@task(queue_name="notifications")
def send_digest_task(digest_id: str) -> str:
    return send_digest(digest_id)


def send_digest(digest_id) -> str:
    digest = _claim(Digest, digest_id)
    if digest is None:
        return "skipped"
    deliveries = [d for d in (
        digest.deliveries.filter(status=Delivery.Status.PENDING)
        .select_related("voicemail__metier", "listing__establishment")
        .order_by("created_at")
    ) if _still_theirs(d)]
    if not deliveries:
        jobs.finish(Digest.objects.filter(pk=digest.pk, status=Digest.Status.PENDING),
                    status=Digest.Status.CANCELLED)
        return "cancelled"
    if not digest.message_id:
        digest.message_id = message_id("digest", digest.pk)
        Digest.objects.filter(pk=digest.pk).update(message_id=digest.message_id)
    try:
        _transmit(build_digest_email(digest, deliveries))
    except Exception as exc:
        return _failed(Digest, digest, exc, send_digest_task)

    def mark():
        with transaction.atomic():
            now = timezone.now()
            n = jobs.finish(Digest.objects.filter(pk=digest.pk, status=Digest.Status.PENDING),
                            status=Digest.Status.SENT, sent_at=now, last_error="")
            if n:
                for d in deliveries:
                    if Delivery.objects.filter(pk=d.pk, status=Delivery.Status.PENDING).update(
                        status=Delivery.Status.SENT, sent_at=now, message_id=digest.message_id
                    ):
                        _audit_sent(d, "digest")

    _mark(mark, f"digest {digest.pk}")
    return "sent"


def build_digest_email(digest: Digest, deliveries: list[Delivery]) -> EmailMultiAlternatives:
    with translation.override("fr"):
        items = [_context(d) for d in deliveries]
        ctx = {"digest": digest, "items": items, "count": len(items),
               "max_age_days": settings.RELAIS_LINK_MAX_AGE_DAYS}
        text = render_to_string("routing/email/digest.txt", ctx)
        html = render_to_string("routing/email/digest.html", ctx)
        n = len(items)
        subject = (f"[Relais] Résumé du {digest.day:%d/%m/%Y} : "
                   f"{n} message{'s' if n > 1 else ''}")
    message = EmailMultiAlternatives(subject=subject, body=text, to=[digest.email],
                                     headers=_headers(digest.message_id))
    message.attach_alternative(html, "text/html")
    return message


# --- Recovery -------------------------------------------------------------------------------


def recover(now: datetime | None = None) -> int:
    """Periodic job: re-enqueue due notifications whose task was lost or whose worker died.

    A duplicate task is harmless (the claim lets one through), so this errs on the side
    of enqueueing.
    """
    now = now or timezone.now()
    stale = max(60, lease_seconds())
    # due, and a worker died holding it or its task was never run
    deliveries = jobs.stalled(Delivery.objects.filter(
        status=Delivery.Status.PENDING, channel=Delivery.Channel.INSTANT), stale, now)
    n = 0
    for pk in deliveries.values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            _enqueue(send_delivery_task, Delivery, pk)
        n += 1
    for pk in jobs.stalled(Digest.objects.filter(status=Digest.Status.PENDING), stale,
                           now).values_list("pk", flat=True)[:1000]:
        with transaction.atomic():
            _enqueue(send_digest_task, Digest, pk)
        n += 1
    return n
