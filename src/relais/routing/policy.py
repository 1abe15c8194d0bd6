"""The routing policy: who receives a voicemail, as a plain function of plain data.

No database, no HTTP: :func:`decide` takes the facts of one voicemail and the candidate
recipients (dataclasses below) and returns a :class:`Decision` — the outcome, its
reasons (machine codes + French text) and the ordered recipients with their own reasons.
:mod:`relais.routing.services` gathers the facts and candidates from the database and
stores the decision.

The rule:

- the called professional ALWAYS receives its own voicemail in full (not decided here:
  the own delivery exists whatever the outcome);
- the message goes further only if the caller's consent is *share* (and final), the
  understanding step judged it *shareable* (a real request for a service), a métier was
  found and that métier may be shared (health trades never are), and the confidence is
  at least the threshold → ``shared``;
- shareable but under the threshold → ``moderation`` (an operator approves: shared by
  the same recipient rule; rejects: own only);
- otherwise → ``own_only``.

Recipients of a shared message: claimed (approved) listings whose establishment is
active, offering the métier, within ``radius_km`` of the CALLED listing's position and
within their own service radius, not paused, whose professional did not report this
caller and is not the called professional; nearest first (ties by listing id); at most
``max_recipients``. A recipient without a valid email is *skipped* with its reason
(kept for the admin) and does not take a place.
"""

import math
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from .geo import haversine_km

OWN_ONLY = "own_only"
SHARED = "shared"
MODERATION = "moderation"


@dataclass(frozen=True)
class Reason:
    code: str
    text: str

    def as_dict(self) -> dict:
        return {"code": self.code, "text": self.text}


@dataclass(frozen=True)
class Rules:
    radius_km: float = 50.0
    max_recipients: int = 5
    threshold: float = 0.8


@dataclass(frozen=True)
class Facts:
    """What the policy needs to know about one voicemail (no personal data)."""

    consent: str  # "share" | "private"
    consent_final: bool
    intent: str = ""
    shareable: bool = False
    confidence: float | None = None
    metier: str | None = None  # slug
    metier_label: str = ""
    metier_shareable: bool = True  # the taxonomy's flag for that métier
    called_listing_id: int | None = None
    called_professional_id: int | None = None
    # An unclaimed listing called through the number pool: no listing row, only its
    # establishment (then only sharing, with consent, can bring the message to anyone).
    called_siret: str = ""
    latitude: float | None = None  # the called listing's position
    longitude: float | None = None
    moderation: str = ""  # "", "pending", "approved", "rejected"
    transcript_reliable: bool = True  # False: a person listens before any sharing

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Candidate:
    """A listing that might receive the message (live data from the directory)."""

    listing_id: int
    professional_id: int
    latitude: float | None
    longitude: float | None
    metiers: frozenset[str]
    claimed: bool = True
    active: bool = True
    service_radius_km: float = 30.0
    shared_paused: bool = False
    reported_caller: bool = False
    email: str = ""


@dataclass(frozen=True)
class Recipient:
    listing_id: int
    professional_id: int
    rank: int  # 1 = nearest
    distance_km: float
    metier: str
    email: str
    text: str

    def reason(self) -> dict:
        return {
            "codes": ["metier", "distance", "rank"],
            "metier": self.metier,
            "distance_km": round(self.distance_km, 3),
            "rank": self.rank,
            "text": self.text,
        }


@dataclass(frozen=True)
class Excluded:
    listing_id: int
    code: str
    text: str
    distance_km: float | None = None

    def as_dict(self) -> dict:
        return {"listing_id": self.listing_id, "code": self.code, "text": self.text,
                "distance_km": None if self.distance_km is None else round(self.distance_km, 3)}


@dataclass(frozen=True)
class Decision:
    outcome: str
    reasons: tuple[Reason, ...]
    recipients: tuple[Recipient, ...] = ()
    skipped: tuple[Excluded, ...] = ()  # would have received it: no valid email
    excluded: tuple[Excluded, ...] = field(default=())  # left out, for the admin

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons]


def km(value: float) -> str:
    """French-formatted distance: 12,3 km."""
    return f"{value:.1f}".replace(".", ",") + " km"


def _num(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def valid_email(address: str) -> bool:
    if not address:
        return False
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True


def sharing_outcome(facts: Facts, rules: Rules) -> tuple[str, tuple[Reason, ...]]:
    """Whether the message may go beyond the called professional, and why."""
    blocking: list[Reason] = []
    called = facts.called_listing_id is not None or bool(facts.called_siret)
    if not called:
        blocking.append(Reason("no_called_listing",
                               "Le message n'est rattaché à aucune fiche : rien à distribuer."))
    if facts.consent != "share":
        blocking.append(Reason("consent_private",
                               "L'appelant a choisi que son message reste chez le "
                               "professionnel appelé."))
    elif not facts.consent_final:
        blocking.append(Reason("consent_not_final",
                               "Le choix de l'appelant n'a pas été enregistré : le message "
                               "reste privé."))
    if not facts.shareable:
        intent = f" (intention : {facts.intent})" if facts.intent else ""
        blocking.append(Reason("not_shareable",
                               f"Ce n'est pas une demande de service à partager{intent}."))
    if not facts.metier:
        blocking.append(Reason("no_metier", "Aucun métier n'a été reconnu dans le message."))
    elif not facts.metier_shareable:
        blocking.append(Reason("metier_not_shareable",
                               f"Les demandes de « {facts.metier_label or facts.metier} » ne "
                               "sont jamais partagées (données sensibles)."))
    if called and (facts.latitude is None or facts.longitude is None):
        blocking.append(Reason("called_listing_unlocated",
                               "La fiche appelée n'a pas de position : impossible de chercher "
                               "des professionnels proches."))
    if blocking:
        return OWN_ONLY, tuple(blocking)

    confidence = facts.confidence if facts.confidence is not None else 0.0
    label = facts.metier_label or facts.metier
    if facts.moderation == "rejected":
        return OWN_ONLY, (Reason("moderation_rejected",
                                 "Un opérateur a refusé le partage de ce message."),)
    if facts.moderation == "approved":
        return SHARED, (Reason("moderation_approved",
                               f"Partage approuvé par un opérateur : demande de « {label} », "
                               f"confiance {_num(confidence)}."),)
    if not facts.transcript_reliable:
        return MODERATION, (Reason("transcript_unreliable",
                                   "Transcription incertaine (boucle ou passages douteux) : "
                                   "le partage attend qu'un opérateur écoute le message."),)
    if confidence < rules.threshold:
        return MODERATION, (Reason("under_threshold",
                                   f"Confiance {_num(confidence)} inférieure au seuil "
                                   f"{_num(rules.threshold)} : le partage attend la "
                                   "validation d'un opérateur."),)
    return SHARED, (Reason("share_ok",
                           f"Partage accepté par l'appelant, demande de « {label} » "
                           f"(confiance {_num(confidence)} ≥ {_num(rules.threshold)})."),)


def _exclusion(facts: Facts, c: Candidate, distance: float | None,
               rules: Rules) -> tuple[str, str] | None:
    if c.listing_id == facts.called_listing_id:
        return "called_listing", "Fiche appelée : elle reçoit déjà le message."
    if (facts.called_professional_id is not None
            and c.professional_id == facts.called_professional_id):
        return "same_professional", "Même professionnel que la fiche appelée."
    if not c.claimed:
        return "not_claimed", "Fiche non revendiquée."
    if not c.active:
        return "inactive", "Établissement fermé."
    if facts.metier not in c.metiers:
        return "metier_not_offered", "Ne propose pas ce métier."
    if distance is None:
        return "unlocated", "Fiche sans position."
    if distance > rules.radius_km:
        return "beyond_radius", f"À {km(distance)}, au-delà de {km(rules.radius_km)}."
    if distance > c.service_radius_km:
        return ("beyond_service_radius",
                f"À {km(distance)}, au-delà de son rayon d'intervention "
                f"({km(c.service_radius_km)}).")
    if c.shared_paused:
        return "paused", "A mis les demandes partagées en pause."
    if c.reported_caller:
        return "reported_caller", "A signalé cet appelant."
    return None


def choose_recipients(facts: Facts, candidates, rules: Rules):
    """Recipients (nearest first, capped), skipped (no email) and excluded candidates."""
    measured = []
    for c in candidates:
        if c.latitude is None or c.longitude is None or facts.latitude is None:
            d = None
        else:
            d = haversine_km(facts.latitude, facts.longitude, c.latitude, c.longitude)
        measured.append((math.inf if d is None else d, c.listing_id, d, c))
    measured.sort(key=lambda m: (m[0], m[1]))
    recipients: list[Recipient] = []
    skipped: list[Excluded] = []
    excluded: list[Excluded] = []
    label = facts.metier_label or facts.metier or ""
    for _, _, d, c in measured:
        if len(recipients) >= rules.max_recipients:
            break
        why = _exclusion(facts, c, d, rules)
        if why is not None:
            excluded.append(Excluded(c.listing_id, why[0], why[1], d))
            continue
        if not valid_email(c.email):
            skipped.append(Excluded(c.listing_id, "no_email",
                                    "Pas d'adresse e-mail valide : demande non transmise.", d))
            continue
        rank = len(recipients) + 1
        recipients.append(Recipient(
            listing_id=c.listing_id, professional_id=c.professional_id, rank=rank,
            distance_km=d, metier=facts.metier or "", email=c.email,
            text=(f"{label} à {km(d)} de la fiche appelée (rang {rank}), dans son rayon "
                  f"d'intervention de {km(c.service_radius_km)}."),
        ))
    return tuple(recipients), tuple(skipped), tuple(excluded)


def decide(facts: Facts, candidates=(), rules: Rules | None = None) -> Decision:
    """The full decision for one voicemail (see the module docstring for the rule)."""
    rules = rules or Rules()
    outcome, reasons = sharing_outcome(facts, rules)
    if outcome != SHARED:
        return Decision(outcome, reasons)
    recipients, skipped, excluded = choose_recipients(facts, candidates, rules)
    if not recipients:
        reasons = (*reasons, Reason(
            "no_recipient",
            f"Aucun autre professionnel de ce métier disponible à moins de "
            f"{km(rules.radius_km)} : le message reste chez le professionnel appelé."))
    return Decision(outcome, reasons, recipients, skipped, excluded)
