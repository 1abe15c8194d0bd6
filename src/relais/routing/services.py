"""Routing services: the functions other apps (and the admin, views, steps) call.

- :func:`route_voicemail` — decide and store who receives a voicemail (the route step);
- :func:`select_recipients` — the geographic search + policy, also used by the benchmark;
- :func:`approve_moderation` / :func:`reject_moderation` — the operator's decision;
- :func:`revoke_shared` / :func:`revoke_delivery` — withdrawal (the caller portal);
- :func:`report_caller`, :func:`caller_hash` — a professional reports a caller;
- :func:`record_feedback`, :func:`feedback_examples` — "pas pour moi" and its export.

What a professional may read is decided in :mod:`relais.routing.access`; every delivery
created here records the professional it is made for (``Delivery.professional``).
"""

import json
import logging
from collections.abc import Iterator
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from relais.core import audit
from relais.directory.models import Establishment
from relais.pros.models import Listing, Professional
from relais.voicemail.models import Voicemail
from relais.voicemail.understanding.model import validate_example

from . import index, policy
from .models import CallerReport, Delivery, Feedback, RoutingDecision

logger = logging.getLogger(__name__)


def rules() -> policy.Rules:
    return policy.Rules(
        radius_km=settings.RELAIS_ROUTING_RADIUS_KM,
        max_recipients=settings.RELAIS_ROUTING_MAX_RECIPIENTS,
        threshold=settings.RELAIS_SHARE_CONFIDENCE_THRESHOLD,
    )


def caller_hash(e164: str) -> str:
    """A keyed hash (HMAC-SHA256 with SECRET_KEY) of a caller's E.164 number."""
    return salted_hmac("relais.routing.caller", e164.strip(), algorithm="sha256").hexdigest()


def _called_establishment(voicemail: Voicemail):
    """The establishment called through the number pool when no listing holds it."""
    call = voicemail.call if voicemail.call_id is not None else None
    if call is None or not call.establishment_siret:
        return None
    return Establishment.objects.filter(siret=call.establishment_siret).first()


def facts_for(voicemail: Voicemail, moderation: str = "") -> policy.Facts:
    listing = voicemail.listing
    establishment = (listing.establishment if listing is not None
                     else _called_establishment(voicemail))
    metier = voicemail.metier
    return policy.Facts(
        consent=voicemail.consent,
        consent_final=voicemail.consent_recorded_at is not None,
        intent=voicemail.intent,
        shareable=voicemail.shareable,
        confidence=voicemail.confidence,
        metier=metier.slug if metier is not None else None,
        metier_label=metier.label if metier is not None else "",
        metier_shareable=metier.shareable if metier is not None else False,
        called_listing_id=listing.pk if listing is not None else None,
        called_professional_id=listing.professional_id if listing is not None else None,
        called_siret=establishment.siret if listing is None and establishment else "",
        latitude=establishment.latitude if establishment is not None else None,
        longitude=establishment.longitude if establishment is not None else None,
        moderation=moderation,
        transcript_reliable=voicemail.transcript_reliable,
    )


@lru_cache(maxsize=64)
def _candidates_sql(n_ids: int) -> str:
    """Live listing data of the index's hits: status, pause, radius, email, "reported
    this caller".

    Written in SQL (names from the models) rather than built by the ORM on every call:
    this runs for every routed message and the ORM's query building costs more than
    the query. The establishment's position and state and the listing's métiers come
    from the index row itself, which signals keep in step within the same transaction
    (bulk updates: see relais.routing.index); the 10-million-row establishment table
    is not read here.
    """
    q = connection.ops.quote_name
    user_model = Professional._meta.get_field("user").related_model
    listing, pro = q(Listing._meta.db_table), q(Professional._meta.db_table)
    user, report = q(user_model._meta.db_table), q(CallerReport._meta.db_table)
    marks = ", ".join(["%s"] * n_ids)
    return (  # identifiers from the models; every value is a parameter
        f"SELECT l.{q('id')}, l.{q('status')}, l.{q('shared_paused')}, "  # noqa: S608
        f"l.{q('service_radius_km')}, l.{q('notification_email')}, u.{q('email')}, "
        f"EXISTS(SELECT 1 FROM {report} r WHERE r.{q('professional_id')} = "
        f"l.{q('professional_id')} AND r.{q('caller_hash')} = %s) "
        f"FROM {listing} l JOIN {pro} p ON p.{q('id')} = l.{q('professional_id')} "
        f"JOIN {user} u ON u.{q('id')} = p.{q('user_id')} "
        f"WHERE l.{q('id')} IN ({marks})"
    )


def _candidates(facts: policy.Facts, hits: list[index.Hit],
                reported_by: str | None) -> list[policy.Candidate]:
    """The index's hits with live listing data (the policy re-checks everything)."""
    if not hits:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_candidates_sql(len(hits)),
                       [reported_by or "", *(h.listing_id for h in hits)])
        live = {row[0]: row[1:] for row in cursor.fetchall()}
    out = []
    for hit in hits:
        if hit.listing_id not in live:  # deleted since: the index will follow
            continue
        status, paused, radius, email, user_email, reported = live[hit.listing_id]
        out.append(policy.Candidate(
            listing_id=hit.listing_id, professional_id=hit.professional_id,
            latitude=hit.latitude, longitude=hit.longitude,
            metiers=frozenset([facts.metier]), claimed=status == Listing.Status.APPROVED,
            active=True, service_radius_km=float(radius), shared_paused=bool(paused),
            reported_caller=bool(reported_by) and bool(reported),
            email=email or user_email or "",
        ))
    return out


def select_recipients(facts: policy.Facts, rules_: policy.Rules | None = None,
                      reported_by: str | None = None) -> policy.Decision:
    """Apply the policy with candidates from the geographic index.

    The index returns the nearest eligible listings; the policy re-checks them with the
    live listing data and may leave some out (no email, reported this caller, paused
    since): the search then asks for more until the cap is reached or nobody is left.
    """
    rules_ = rules_ or rules()
    outcome, _ = policy.sharing_outcome(facts, rules_)
    if outcome != policy.SHARED:
        return policy.decide(facts, (), rules_)
    exclude = [facts.called_professional_id] if facts.called_professional_id else []
    limit = rules_.max_recipients + 3
    while True:
        hits = index.nearest(facts.metier, facts.latitude, facts.longitude,
                             radius_km=rules_.radius_km, limit=limit,
                             exclude_professionals=exclude)
        decision = policy.decide(facts, _candidates(facts, hits, reported_by), rules_)
        if len(decision.recipients) >= rules_.max_recipients or len(hits) < limit:
            return decision
        limit *= 4


def _channel(listing: Listing) -> str:
    return {
        Listing.Notify.INSTANT: Delivery.Channel.INSTANT,
        Listing.Notify.DIGEST: Delivery.Channel.DIGEST,
    }.get(listing.notify, Delivery.Channel.OFF)


NOT_HELD = ("Pas de notification : la fiche n'est plus détenue (revendication approuvée) "
            "par le professionnel à qui ce message était destiné.")


def _new_delivery(voicemail, listing: Listing, *, kind, rank, distance, reason,
                  professional_id: int | None) -> Delivery:
    """A delivery made for ``professional_id``, its notification state from the listing's
    preference — no email at all unless that professional holds the listing now."""
    email = listing.email
    channel = _channel(listing)
    status, status_reason = Delivery.Status.PENDING, ""
    if professional_id is None or professional_id != listing.holder_id:
        status, status_reason, email = Delivery.Status.UNNOTIFIED, NOT_HELD, ""
    elif channel == Delivery.Channel.OFF:
        status, status_reason = Delivery.Status.UNNOTIFIED, "Notifications désactivées."
    elif not policy.valid_email(email):
        status, status_reason = (Delivery.Status.UNNOTIFIED,
                                 "Pas d'adresse e-mail valide : message dans l'espace pro.")
    return Delivery.objects.create(
        voicemail=voicemail, listing=listing, professional_id=professional_id, kind=kind,
        rank=rank, distance_km=distance, reason=reason, status=status,
        status_reason=status_reason, channel=channel,
        email=email if policy.valid_email(email) else "",
    )


def _own_professional_id(voicemail: Voicemail) -> int | None:
    """Whom the called listing's own message is for: the holder when the call came in
    (recorded on the call), else — a message without a call — the holder now."""
    if voicemail.call_id is not None:
        return voicemail.call.professional_id
    return voicemail.listing.holder_id


def _store_shared(voicemail, decision: policy.Decision) -> list[Delivery]:
    listings = Listing.objects.select_related("professional__user").in_bulk(
        [r.listing_id for r in decision.recipients] + [s.listing_id for s in decision.skipped]
    )
    created = []
    for r in decision.recipients:
        listing = listings[r.listing_id]
        created.append(_new_delivery(voicemail, listing, kind=Delivery.Kind.SHARED,
                                     rank=r.rank, distance=r.distance_km, reason=r.reason(),
                                     professional_id=listing.holder_id))
    for s in decision.skipped:
        Delivery.objects.create(
            voicemail=voicemail, listing=listings[s.listing_id],
            professional_id=listings[s.listing_id].holder_id, kind=Delivery.Kind.SHARED,
            rank=None, distance_km=s.distance_km,
            reason={"codes": [s.code], "text": s.text, "distance_km": s.distance_km},
            status=Delivery.Status.SKIPPED, status_reason=s.text,
            channel=_channel(listings[s.listing_id]),
        )
    return created


def route_voicemail(voicemail: Voicemail) -> RoutingDecision:
    """Decide who receives the voicemail and create its deliveries (idempotent)."""
    with transaction.atomic():
        existing = RoutingDecision.objects.select_for_update().filter(voicemail=voicemail)
        decision_row = existing.first()
        if decision_row is not None:
            return decision_row
        voicemail = Voicemail.objects.select_related(
            "listing__establishment", "listing__professional__user", "metier", "call"
        ).get(pk=voicemail.pk)
        facts = facts_for(voicemail)
        hashed = caller_hash(voicemail.caller_e164) if voicemail.caller_e164 else None
        decision = select_recipients(facts, rules(), hashed)
        decision_row = RoutingDecision.objects.create(
            voicemail=voicemail,
            outcome=decision.outcome,
            reasons=[r.as_dict() for r in decision.reasons],
            facts={**facts.as_dict(), **_rules_dict()},
            excluded=[e.as_dict() for e in decision.excluded],
            moderation=(RoutingDecision.Moderation.PENDING
                        if decision.outcome == policy.MODERATION else ""),
        )
        if voicemail.listing is not None:
            _new_delivery(voicemail, voicemail.listing, kind=Delivery.Kind.OWN, rank=0,
                          distance=0.0, reason={
                              "codes": ["called"],
                              "text": "Fiche appelée : elle reçoit toujours son message.",
                          }, professional_id=_own_professional_id(voicemail))
        _store_shared(voicemail, decision)
    logger.info("voicemail %s routed: %s, %d recipient(s)", voicemail.pk, decision.outcome,
                len(decision.recipients))
    return decision_row


def _rules_dict() -> dict:
    r = rules()
    return {"radius_km": r.radius_km, "max_recipients": r.max_recipients,
            "threshold": r.threshold}


class ModerationError(Exception):
    pass


LISTEN_PERM = "voicemail.view_voicemail"
UNHEARD_UNRELIABLE = ("Transcription incertaine : seule une personne qui peut écouter le message "
                      "(droit de consultation des messages vocaux) peut approuver son partage.")


def check_can_share_unheard(voicemail: Voicemail, user) -> None:
    """An uncertain transcript is shared only by someone able to listen to the recording:
    raises ModerationError otherwise (the reason ``transcript_unreliable`` sent it here)."""
    if not voicemail.transcript_reliable and (user is None or not user.has_perm(LISTEN_PERM)):
        raise ModerationError(UNHEARD_UNRELIABLE)


def approve_moderation(decision_row: RoutingDecision, user) -> list[Delivery]:
    """Operator approves sharing a message under the threshold: same recipient rule."""
    from . import notifications

    with transaction.atomic():
        row = RoutingDecision.objects.select_for_update().get(pk=decision_row.pk)
        if row.moderation != RoutingDecision.Moderation.PENDING:
            raise ModerationError("Ce message n'attend pas de modération.")
        voicemail = Voicemail.objects.select_related(
            "listing__establishment", "listing__professional__user", "metier"
        ).get(pk=row.voicemail_id)
        if voicemail.status == Voicemail.Status.ERASED:
            raise ModerationError("Ce message a été effacé.")
        check_can_share_unheard(voicemail, user)
        facts = facts_for(voicemail, moderation="approved")
        hashed = caller_hash(voicemail.caller_e164) if voicemail.caller_e164 else None
        decision = select_recipients(facts, rules(), hashed)
        created = _store_shared(voicemail, decision)
        row.outcome = decision.outcome
        row.reasons = [*row.reasons, *(r.as_dict() for r in decision.reasons)]
        row.excluded = [e.as_dict() for e in decision.excluded]
        row.moderation = RoutingDecision.Moderation.APPROVED
        row.moderated_by = user
        row.moderated_at = timezone.now()
        row.save()
        audit.record(actor=audit.Actor.operator(user), action=audit.MODERATION_APPROVED,
                     voicemail=voicemail, detail={"recipients": len(created)})
        notifications.dispatch(created)
    return created


def reject_moderation(decision_row: RoutingDecision, user) -> None:
    """Operator rejects sharing: the message stays with the called professional."""
    with transaction.atomic():
        row = RoutingDecision.objects.select_for_update().get(pk=decision_row.pk)
        if row.moderation != RoutingDecision.Moderation.PENDING:
            raise ModerationError("Ce message n'attend pas de modération.")
        row.outcome = RoutingDecision.Outcome.OWN_ONLY
        row.reasons = [*row.reasons, {"code": "moderation_rejected",
                                      "text": "Un opérateur a refusé le partage de ce message."}]
        row.moderation = RoutingDecision.Moderation.REJECTED
        row.moderated_by = user
        row.moderated_at = timezone.now()
        row.save()
        audit.record(actor=audit.Actor.operator(user), action=audit.MODERATION_REJECTED,
                     voicemail=row.voicemail)


# --- Withdrawal -----------------------------------------------------------------------


def revoke_delivery(delivery: Delivery, reason: str = "", actor=None) -> str:
    """Withdraw one delivery: not yet notified → cancelled, otherwise revoked.

    Its link stops working at once; a notification not yet sent is never sent (the
    sender re-checks the status under its lease). Returns the new status.
    """
    with transaction.atomic():
        d = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if d.status in (Delivery.Status.CANCELLED, Delivery.Status.REVOKED,
                        Delivery.Status.SKIPPED):
            return d.status
        new = (Delivery.Status.CANCELLED if d.status in (Delivery.Status.PENDING,
                                                          Delivery.Status.FAILED)
               else Delivery.Status.REVOKED)
        Delivery.objects.filter(pk=d.pk).update(
            status=new, status_reason=reason[:255], revoked_at=timezone.now(), lease_until=None
        )
        audit.record(actor=actor or audit.Actor.system("routing"),
                     action=audit.DELIVERY_REVOKED, delivery=d, voicemail=d.voicemail,
                     detail={"status": new, "reason": reason})
    return new


def revoke_shared(voicemail: Voicemail, reason: str = "", actor=None) -> int:
    """The caller withdrew sharing: every shared delivery is cancelled or revoked."""
    shared = Delivery.objects.filter(voicemail=voicemail, kind=Delivery.Kind.SHARED).exclude(
        status__in=[Delivery.Status.CANCELLED, Delivery.Status.REVOKED, Delivery.Status.SKIPPED]
    )
    return sum(1 for d in shared if revoke_delivery(d, reason, actor))


# --- Caller reports and feedback -----------------------------------------------------------


def report_caller(professional, e164: str, reason: str = "", voicemail=None) -> CallerReport:
    """The professional never receives this caller's shared requests again."""
    report, _ = CallerReport.objects.get_or_create(
        professional=professional, caller_hash=caller_hash(e164),
        defaults={"reason": reason[:255],
                  "voicemail_reference": getattr(voicemail, "reference", "") or ""},
    )
    return report


def record_feedback(delivery: Delivery, kind: str, comment: str = "",
                    suggested_metier=None) -> Feedback:
    """"Pas pour moi": store (or update) a recipient's feedback on one delivery."""
    if kind not in Feedback.Kind.values:
        raise ValueError(f"unknown feedback kind {kind!r}; expected one of "
                         f"{', '.join(Feedback.Kind.values)}")
    feedback, created = Feedback.objects.get_or_create(
        delivery=delivery, kind=kind,
        defaults={"comment": comment, "suggested_metier": suggested_metier,
                  "predicted_metier": delivery.voicemail.metier_id or ""},
    )
    if not created and (comment or suggested_metier):
        feedback.comment = comment or feedback.comment
        feedback.suggested_metier = suggested_metier or feedback.suggested_metier
        feedback.save(update_fields=["comment", "suggested_metier"])
    return feedback


def feedback_examples(since=None, reader: str = "feedback-export") -> Iterator[dict]:
    """Labelled examples for retraining the classifier, one dict per feedback.

    ``text`` is the redacted transcript (never the raw one). Labels correct the
    classifier: ``not_a_request`` → ``shareable: false`` (intent unknown);
    ``wrong_metier`` → ``not_metier`` is the predicted métier, ``metier`` the one the
    professional suggested (or null).

    Each redacted transcript read leaves an audit row (a system read by ``reader``).
    """
    qs = Feedback.objects.select_related("delivery__voicemail").order_by("created_at", "pk")
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    actor = audit.Actor.system(reader)
    for fb in qs.iterator():
        vm = fb.delivery.voicemail
        if not vm.redacted_text:
            continue
        audit.record(actor=actor, action=audit.READ_REDACTED, voicemail=vm,
                     delivery=fb.delivery, detail={"via": reader, "feedback": fb.pk})
        example = {
            "id": f"feedback-{fb.pk}",
            "text": vm.redacted_text,
            "lang": vm.language or "fr",
            "source": "feedback",
            "feedback": fb.kind,
            "predicted_metier": fb.predicted_metier or None,
            "predicted_intent": vm.intent or None,
        }
        if fb.kind == Feedback.Kind.NOT_A_REQUEST:
            example.update(shareable=False, intent=None)
        else:
            example.update(metier=fb.suggested_metier_id, not_metier=fb.predicted_metier or None)
        if fb.comment:
            example["comment"] = fb.comment
        yield example


REQUEST_INTENTS = ("quote_request", "follow_up")


def feedback_training_rows(since=None) -> tuple[list[dict], list[str]]:
    """Feedback turned into training rows the classifier accepts, and what was skipped.

    Each row is ``{"text", "intent", "metier"}`` (see
    :func:`relais.voicemail.understanding.model.validate_example`), deduplicated:

    - ``not_a_request`` → a non-request intent: the one predicted if it already was one,
      else ``other``; no métier;
    - ``wrong_metier`` with a suggested métier → a request (the predicted request intent,
      else ``quote_request``) of the suggested métier;
    - ``wrong_metier`` without a suggestion teaches nothing the classifier can use
      (it learns labels, not "not this one"): skipped, and said so.
    """
    rows, skipped, seen = [], [], set()
    for ex in feedback_examples(since, reader="feedback-retraining"):
        predicted = ex.get("predicted_intent") or ""
        if ex["feedback"] == Feedback.Kind.NOT_A_REQUEST:
            intent = predicted if predicted and predicted not in REQUEST_INTENTS else "other"
            row = {"text": ex["text"], "intent": intent, "metier": None}
        elif ex.get("metier"):
            intent = predicted if predicted in REQUEST_INTENTS else "quote_request"
            row = {"text": ex["text"], "intent": intent, "metier": ex["metier"]}
        else:
            skipped.append(f"{ex['id']}: wrong métier without a suggested one")
            continue
        try:
            row = validate_example(row)
        except ValueError as exc:
            skipped.append(f"{ex['id']}: {exc}")
            continue
        key = (row["text"], row["intent"], row["metier"])
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows, skipped


def feedback_jsonl(since=None) -> Iterator[str]:
    for example in feedback_examples(since):
        yield json.dumps(example, ensure_ascii=False) + "\n"

