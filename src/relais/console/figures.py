"""The console's figures for a period and optional filters, read from the summary tables.

Each figure is one grouped query on the summary (indexed by day); only the pipeline's
health is read live (it is the state now, not a history).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from relais.core.models import PeriodicRun
from relais.directory.models import Commune, Metier
from relais.voicemail.models import PipelineStep

from .models import COUNTERS, LATENCY_BUCKETS, CommuneDay, ConfusionDay, DailyFigures, Refresh
from .summary import ALL, local_day

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30

WHY_LABELS = {
    "why_consent": "l'appelant a choisi « ce professionnel seulement »",
    "why_not_request": "pas une demande de service",
    "why_low_confidence": "confiance trop faible (modération)",
    "why_metier_not_shareable": "métier jamais partagé",
    "why_no_metier": "aucun métier reconnu",
    "why_no_recipient": "aucun professionnel disponible à proximité",
    "why_transcript_unreliable": "transcription incertaine",
    "why_other": "autre (message sans fiche appelée)",
}
OUTCOME_LABELS = {
    "own_only": "destinataire appelé seulement",
    "shared": "partagé",
    "moderation": "en modération",
    "rejected": "refusé par un opérateur",
}


@dataclass(frozen=True)
class Filters:
    days: int = DEFAULT_PERIOD
    departement: str = ""
    metier: str = ""
    end: date | None = None  # the last day (today when None)

    @property
    def last(self) -> date:
        return self.end or local_day(timezone.now())

    @property
    def first(self) -> date:
        return self.last - timedelta(days=self.days - 1)

    def rollup(self) -> Q:
        """The DailyFigures rows of the period at the filters' level (roll-ups "*")."""
        return Q(day__gte=self.first, day__lte=self.last,
                 departement=self.departement or ALL, metier=self.metier or ALL)

    def q(self, metier_field: str | None = "metier") -> Q:
        q = Q(day__gte=self.first, day__lte=self.last)
        if self.departement:
            q &= Q(departement=self.departement)
        if self.metier and metier_field:
            q &= Q(**{metier_field: self.metier})
        return q


def parse_filters(params) -> Filters:
    """Filters from a query string; anything unknown falls back to the default."""
    try:
        days = int(params.get("jours", DEFAULT_PERIOD))
    except (TypeError, ValueError):
        days = DEFAULT_PERIOD
    if days not in PERIODS:
        days = DEFAULT_PERIOD
    dep = (params.get("departement") or "").strip().upper()
    if dep and not Commune.objects.filter(departement=dep).exists():
        dep = ""
    metier = (params.get("metier") or "").strip()
    if metier and not Metier.objects.filter(slug=metier).exists():
        metier = ""
    return Filters(days=days, departement=dep, metier=metier)


def percentile(histogram: list[int], p: float) -> int | None:
    """The upper bound (seconds) of the bucket holding the p-quantile; None: no data;
    -1: beyond the last bound."""
    total = sum(histogram)
    if not total:
        return None
    rank = p * total
    seen = 0
    for count, bound in zip(histogram, LATENCY_BUCKETS, strict=True):
        seen += count
        if seen >= rank:
            return -1 if bound is None else bound
    return -1  # pragma: no cover


def duration_text(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds == -1:
        return f"plus de {duration_text(LATENCY_BUCKETS[-2])}"
    if seconds < 60:
        return f"≤ {seconds} s"
    if seconds < 3600:
        return f"≤ {seconds // 60} min"
    if seconds < 86400:
        return f"≤ {seconds // 3600} h"
    return f"≤ {seconds // 86400} j"


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


@dataclass
class Figures:
    filters: Filters
    days: list[dict] = field(default_factory=list)  # one per day of the period, zeros filled
    totals: dict = field(default_factory=dict)
    by_metier: list[dict] = field(default_factory=list)
    confusions: list[dict] = field(default_factory=list)
    communes: list[dict] = field(default_factory=list)
    health: dict = field(default_factory=dict)

    @property
    def share_rate(self) -> float | None:
        t = self.totals
        routed = t["own_only"] + t["shared"] + t["moderation"] + t["rejected"]
        # Shared means it reached another professional: an outcome "shared" that found no
        # recipient (none nearby, an approval with nobody left) reached no one.
        return _ratio(t["shared_reached"], routed)

    @property
    def why(self) -> list[tuple[str, str, int]]:
        return [(k, label, self.totals[k]) for k, label in WHY_LABELS.items()]

    @property
    def recipients_per_shared(self) -> float | None:
        return _ratio(self.totals["recipients"], self.totals["shared_reached"])

    @property
    def unlocks_per_shared(self) -> float | None:
        return _ratio(self.totals["unlocks"], self.totals["shared_reached"])

    def latency(self, prefix: str) -> dict:
        hist = [self.totals[f"{prefix}_{i}"] for i in range(len(LATENCY_BUCKETS))]
        p50, p95 = percentile(hist, 0.5), percentile(hist, 0.95)
        return {"n": sum(hist), "p50": p50, "p95": p95, "p50_text": duration_text(p50),
                "p95_text": duration_text(p95)}


SUMMED = (*COUNTERS, *(f"{p}_{i}" for p in ("email", "action")
                      for i in range(len(LATENCY_BUCKETS))))


def daily(filters: Filters) -> list[dict]:
    rows = {r["day"]: r for r in DailyFigures.objects.filter(filters.rollup()).values("day")
            .annotate(**{c: Sum(c) for c in SUMMED}).order_by("day")}
    out, day = [], filters.first
    while day <= filters.last:
        out.append(rows.get(day) or {"day": day, **dict.fromkeys(SUMMED, 0)})
        day += timedelta(days=1)
    return out


def by_metier(filters: Filters) -> list[dict]:
    """Deliveries and "pas pour moi" by the messages' métier, worst rate first."""
    labels = dict(Metier.objects.values_list("slug", "label"))
    level = Q(day__gte=filters.first, day__lte=filters.last,
              departement=filters.departement or ALL)
    if filters.metier:
        level &= Q(metier=filters.metier)
    rows = (DailyFigures.objects.filter(level).exclude(metier__in=["", ALL]).values("metier")
            .annotate(deliveries=Sum("deliveries"), wrong_metier=Sum("wrong_metier"),
                      not_request=Sum("not_request"), voicemails=Sum("voicemails"))
            .filter(deliveries__gt=0).order_by())
    out = []
    for r in rows:
        feedback = r["wrong_metier"] + r["not_request"]
        out.append({**r, "label": labels.get(r["metier"], r["metier"]), "feedback": feedback,
                    "rate": feedback / r["deliveries"]})
    out.sort(key=lambda r: (-r["rate"], -r["deliveries"], r["metier"]))
    return out


def confusions(filters: Filters, limit: int = 10) -> list[dict]:
    labels = dict(Metier.objects.values_list("slug", "label"))
    q = filters.q(metier_field="predicted")
    rows = (ConfusionDay.objects.filter(q).values("predicted", "suggested")
            .annotate(n=Sum("count")).order_by("-n", "predicted", "suggested")[:limit])
    return [{**r, "predicted_label": labels.get(r["predicted"], r["predicted"] or "—"),
             "suggested_label": labels.get(r["suggested"], r["suggested"] or "non précisé")}
            for r in rows]


def communes(filters: Filters) -> list[dict]:
    counts = dict(CommuneDay.objects.filter(filters.q()).values("commune")
                  .annotate(n=Sum("messages")).order_by().values_list("commune", "n"))
    places = Commune.objects.filter(code_insee__in=list(counts)).values_list(
        "code_insee", "name", "departement", "latitude", "longitude")
    return sorted(({"code": code, "name": name, "departement": dep, "lat": lat, "lon": lon,
                    "n": counts[code]} for code, name, dep, lat, lon in places),
                  key=lambda c: (-c["n"], c["code"]))


# A worker ticks the periodic jobs about once a minute (relais.core.schedule).
HEARTBEAT_LATE_SECONDS = 5 * 60
OPEN = (PipelineStep.Status.PENDING, PipelineStep.Status.RETRY, PipelineStep.Status.RUNNING,
        PipelineStep.Status.WAITING)


def health(now=None) -> dict:
    """The pipeline now: steps failed, waiting or pending, the oldest pending step, the
    workers' last tick and the summary's last refresh."""
    now = now or timezone.now()
    by_status = dict(PipelineStep.objects.filter(
        status__in=[*OPEN, PipelineStep.Status.FAILED]).values("status")
        .annotate(n=Count("id")).order_by().values_list("status", "n"))
    oldest = PipelineStep.objects.filter(
        status__in=[PipelineStep.Status.PENDING, PipelineStep.Status.RETRY]).aggregate(
        at=Min("voicemail__created_at"))["at"]
    failed_by_step = list(PipelineStep.objects.filter(status=PipelineStep.Status.FAILED)
                          .values("name").annotate(n=Count("id")).order_by("-n", "name"))
    beat = PeriodicRun.objects.aggregate(at=Max("last_run_at"))["at"]
    if beat is not None and beat.year <= 2000:  # created, never run
        beat = None
    refreshed = Refresh.objects.filter(name="summary").first()
    return {
        "failed": by_status.get(PipelineStep.Status.FAILED, 0),
        "waiting": by_status.get(PipelineStep.Status.WAITING, 0),
        "pending": by_status.get(PipelineStep.Status.PENDING, 0)
        + by_status.get(PipelineStep.Status.RETRY, 0),
        "running": by_status.get(PipelineStep.Status.RUNNING, 0),
        "failed_by_step": failed_by_step,
        "oldest_pending_at": oldest,
        "oldest_pending_seconds": None if oldest is None else (now - oldest).total_seconds(),
        "heartbeat_at": beat,
        "heartbeat_ok": beat is not None and (now - beat).total_seconds()
        <= HEARTBEAT_LATE_SECONDS,
        "refreshed_at": refreshed.finished_at if refreshed else None,
    }


def compute(filters: Filters) -> Figures:
    days = daily(filters)
    totals = {c: sum(d[c] for d in days) for c in SUMMED}
    return Figures(filters=filters, days=days, totals=totals, by_metier=by_metier(filters),
                   confusions=confusions(filters), communes=communes(filters),
                   health=health())
