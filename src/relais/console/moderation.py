"""The moderation queue: what an operator sees of a message under the confidence
threshold, and their decision (approve, correct the métier and approve, reject).

Decisions go through routing's own functions (``approve_moderation``,
``reject_moderation``: same recipient rule, same audit rows); a corrected métier is
audited too. Each decision is kept (:class:`ModerationVerdict`) and becomes a training
example (:func:`training_rows`, ``relais retrain_from_moderation``).
"""

from dataclasses import dataclass

from django.db import transaction

from relais.core import audit
from relais.directory.models import Metier
from relais.pros.models import Listing
from relais.routing import services as routing
from relais.routing.models import RoutingDecision
from relais.voicemail.models import Voicemail
from relais.voicemail.understanding.decide import get_understander
from relais.voicemail.understanding.features import analyse
from relais.voicemail.understanding.model import validate_example

from .models import ModerationVerdict

METIER_CHANGED = "moderation.metier_changed"
REQUEST_INTENTS = routing.REQUEST_INTENTS
ModerationError = routing.ModerationError


def pending():
    return (RoutingDecision.objects.filter(moderation=RoutingDecision.Moderation.PENDING)
            .select_related("voicemail__metier", "voicemail__listing__establishment__commune")
            .order_by("created_at", "pk"))


@dataclass
class Item:
    decision: RoutingDecision
    voicemail: Voicemail
    alternatives: list[tuple[str, str, float]]  # (slug, label, probability)
    recipients: list[dict]  # the recipients an approval would reach now
    position: int
    total: int


def alternatives(text: str, chosen: str | None, limit: int = 3) -> list[tuple[str, str, float]]:
    """The classifier's next best métiers for the redacted text."""
    if not text.strip():
        return []
    proba = get_understander().models.metier_proba(analyse(text))
    labels = dict(Metier.objects.values_list("slug", "label"))
    ranked = sorted(((p, m) for m, p in proba.items() if m != chosen and m in labels),
                    reverse=True)[:limit]
    return [(m, labels[m], round(p, 3)) for p, m in ranked]


def would_reach(voicemail: Voicemail) -> list[dict]:
    """Who an approval would share the message with (the same rule as approve)."""
    facts = routing.facts_for(voicemail, moderation="approved")
    hashed = routing.caller_hash(voicemail.caller_e164) if voicemail.caller_e164 else None
    decision = routing.select_recipients(facts, routing.rules(), hashed)
    from_listing = {r.listing_id: r for r in decision.recipients}
    names = dict(Listing.objects.filter(pk__in=list(from_listing))
                 .values_list("pk", "establishment__name")) if from_listing else {}
    return [{"listing_id": r.listing_id, "name": names.get(r.listing_id, ""), "rank": r.rank,
             "distance_km": r.distance_km} for r in decision.recipients]


def item(decision_id: int, user) -> Item | None:
    """One queue item for ``user`` (its redacted text read is audited); None: not pending."""
    queue = list(pending().values_list("pk", flat=True))
    if decision_id not in queue:
        return None
    decision = pending().get(pk=decision_id)
    vm = decision.voicemail
    audit.record(actor=audit.Actor.operator(user), action=audit.READ_REDACTED, voicemail=vm,
                 detail={"via": "console-moderation"})
    return Item(decision=decision, voicemail=vm,
                alternatives=alternatives(vm.redacted_text, vm.metier_id),
                recipients=would_reach(vm) if vm.listing_id else [],
                position=queue.index(decision_id) + 1, total=len(queue))


def next_pending(after_id: int | None = None) -> int | None:
    qs = pending()
    ids = list(qs.values_list("pk", flat=True))
    if after_id in ids:
        rest = ids[ids.index(after_id) + 1:]
        return rest[0] if rest else (ids[0] if ids and ids[0] != after_id else None)
    return ids[0] if ids else None


def decide(decision: RoutingDecision, user, action: str, metier: str = "") -> ModerationVerdict:
    """Apply an operator's decision; raises ModerationError (nothing changed) on a bad one."""
    if action not in ModerationVerdict.Action.values:
        raise ModerationError("Décision inconnue.")
    vm = decision.voicemail
    predicted = vm.metier_id or ""
    if action != ModerationVerdict.Action.REJECT:
        routing.check_can_share_unheard(vm, user)  # before anything changes
    with transaction.atomic():
        if action == ModerationVerdict.Action.CHANGE:
            new = Metier.objects.filter(slug=metier).first()
            if new is None:
                raise ModerationError("Choisissez un métier de la liste.")
            if new.slug == predicted:
                action = ModerationVerdict.Action.APPROVE
            else:
                locked = RoutingDecision.objects.select_for_update().get(pk=decision.pk)
                if locked.moderation != RoutingDecision.Moderation.PENDING:
                    raise ModerationError("Ce message n'attend pas de modération.")
                Voicemail.objects.filter(pk=vm.pk).update(metier=new)
                audit.record(actor=audit.Actor.operator(user), action=METIER_CHANGED,
                             voicemail=vm, detail={"from": predicted, "to": new.slug})
                vm.metier = new
        if action == ModerationVerdict.Action.REJECT:
            routing.reject_moderation(decision, user)
        else:
            routing.approve_moderation(decision, user)
        return ModerationVerdict.objects.create(
            voicemail=vm, action=action, predicted_metier=predicted,
            metier=vm.metier_id or "", intent=vm.intent, user=user)


def training_rows(since=None) -> tuple[list[dict], list[str]]:
    """Approvals and corrections as training rows ({"text", "intent", "metier"}), the
    redacted text only (each read audited). A rejection teaches no label (the operator
    may refuse to share a genuine request): none is made from it."""
    qs = ModerationVerdict.objects.exclude(action=ModerationVerdict.Action.REJECT) \
        .select_related("voicemail")
    if since is not None:
        qs = qs.filter(created_at__gte=since)
    rows, skipped, seen = [], [], set()
    actor = audit.Actor.system("moderation-retraining")
    for v in qs.iterator():
        text = v.voicemail.redacted_text
        if not text:
            skipped.append(f"verdict-{v.pk}: no redacted text (erased or purged)")
            continue
        audit.record(actor=actor, action=audit.READ_REDACTED, voicemail=v.voicemail,
                     detail={"via": "moderation-retraining", "verdict": v.pk})
        intent = v.intent if v.intent in REQUEST_INTENTS else "quote_request"
        try:
            row = validate_example({"text": text, "intent": intent, "metier": v.metier or None})
        except ValueError as exc:
            skipped.append(f"verdict-{v.pk}: {exc}")
            continue
        key = (row["text"], row["intent"], row["metier"])
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows, skipped
