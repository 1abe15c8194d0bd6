"""Refresh the console's summary tables from the live tables, one whole day at a time.

A day's rows are recomputed and replaced in one transaction, so a refresh is idempotent
and a late event (an unlock, a "pas pour moi", a moderation decision days later) is
counted once the day is refreshed again. Everything is attributed to the message's
local day (TIME_ZONE); calls to the call's day.

Periodic jobs (relais/flow.py): :func:`refresh_recent` (today and yesterday, every few
minutes) and :func:`refresh_late` (the last ``RELAIS_CONSOLE_LATE_DAYS`` days, daily).
"""

import time as clock
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from relais.callbacks.models import Callback
from relais.calls.models import Call
from relais.credits.models import CreditEntry, Unlock
from relais.pros.models import Listing
from relais.routing.models import Delivery, Feedback, RoutingDecision
from relais.voicemail.models import Voicemail

from .models import (
    LATENCY_BUCKETS,
    CommuneDay,
    ConfusionDay,
    DailyFigures,
    Refresh,
)

ALL = "*"  # a roll-up row's département or métier

# Routing reason codes → the console's "why not shared" counters.
WHY = {
    "consent_private": "why_consent",
    "consent_not_final": "why_consent",
    "not_shareable": "why_not_request",
    "under_threshold": "why_low_confidence",
    "metier_not_shareable": "why_metier_not_shareable",
    "no_metier": "why_no_metier",
    "no_recipient": "why_no_recipient",
    "called_listing_unlocated": "why_no_recipient",  # no position: nobody nearby to find
    "transcript_unreliable": "why_transcript_unreliable",
    "no_called_listing": "why_other",
}
# The reasons that send a message to moderation: the first routing pass ends with one.
# An operator's decision appends its own reasons (``moderation_approved`` then maybe
# ``no_recipient``, or ``moderation_rejected``) to the same list.
TO_MODERATION = {"under_threshold", "transcript_unreliable"}


def first_pass(reasons) -> list[str]:
    """The reason codes of the first routing pass (before any moderation decision)."""
    codes = []
    for r in reasons or ():
        code = r.get("code")
        codes.append(code)
        if code in TO_MODERATION:
            break
    return codes


def bucket(seconds: float) -> int:
    for i, bound in enumerate(LATENCY_BUCKETS):
        if bound is None or seconds <= bound:
            return i
    return len(LATENCY_BUCKETS) - 1  # pragma: no cover - the last bound is open


def day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(day, time.min), tz)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), tz)
    return start, end


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def _listing_metiers(listing_ids) -> dict[int, str]:
    """The first métier (by slug) of each listing: the key its calls are counted under."""
    first: dict[int, str] = {}
    rows = Listing.metiers.through.objects.filter(listing_id__in=listing_ids).values_list(
        "listing_id", "metier_id")
    for listing_id, slug in rows:
        if listing_id not in first or slug < first[listing_id]:
            first[listing_id] = slug
    return first


def compute_day(day: date) -> tuple[list[DailyFigures], list[CommuneDay], list[ConfusionDay]]:
    """The summary rows of one local day (not saved)."""
    start, end = day_bounds(day)
    rows: dict[tuple[str, str], Counter] = defaultdict(Counter)

    # Calls: the day's calls, keyed by the called listing's département and first métier.
    calls = list(Call.objects.filter(started_at__gte=start, started_at__lt=end).values_list(
        "outcome", "listing_id", "listing__establishment__commune__departement"))
    metier_of = _listing_metiers({c[1] for c in calls if c[1] is not None})
    for outcome, listing_id, dep in calls:
        key = (dep or "", metier_of.get(listing_id, ""))
        rows[key]["calls"] += 1
        if outcome == Call.Outcome.ANSWERED:
            rows[key]["answered"] += 1

    # Messages left that day, their routing decision.
    in_day = {"voicemail__created_at__gte": start, "voicemail__created_at__lt": end}
    key_of: dict = {}
    created_of: dict = {}
    communes: Counter = Counter()
    vms = Voicemail.objects.filter(created_at__gte=start, created_at__lt=end).values_list(
        "id", "created_at", "metier_id", "listing__establishment__commune_id",
        "listing__establishment__commune__departement", "routing__outcome",
        "routing__moderation", "routing__reasons", "channel")
    for vm_id, created, metier, commune, dep, outcome, moderation, reasons, channel in vms:
        key = (dep or "", metier or "")
        key_of[vm_id], created_of[vm_id] = key, created
        r = rows[key]
        r["voicemails"] += 1
        if channel == Voicemail.Channel.SMS:
            r["sms"] += 1
        if commune:
            communes[(key, commune)] += 1
        if outcome is None:
            r["unrouted"] += 1
        elif moderation == RoutingDecision.Moderation.REJECTED:
            r["rejected"] += 1
        elif outcome == RoutingDecision.Outcome.SHARED:
            r["shared"] += 1
        elif outcome == RoutingDecision.Outcome.MODERATION:
            r["moderation"] += 1
        else:
            r["own_only"] += 1
        for code in {WHY[c] for c in first_pass(reasons) if c in WHY}:
            r[code] += 1

    # Deliveries of those messages: recipients, first e-mail, first action, feedback.
    first_sent: dict = {}
    reached: set = set()
    for vm_id, kind, status, created, sent, opened, handled in Delivery.objects.filter(
            **in_day).values_list("voicemail_id", "kind", "status", "created_at", "sent_at",
                                  "first_opened_at", "handled_at"):
        key = key_of.get(vm_id)
        if key is None:
            continue
        r = rows[key]
        if status == Delivery.Status.SKIPPED:
            continue
        r["deliveries"] += 1
        if kind == Delivery.Kind.SHARED:
            r["recipients"] += 1
            reached.add(vm_id)
        if sent is not None and (vm_id not in first_sent or sent < first_sent[vm_id]):
            first_sent[vm_id] = sent
        actions = [t for t in (opened, handled) if t is not None]
        if actions:
            r["acted"] += 1
            r[f"action_{bucket(max(0.0, (min(actions) - created).total_seconds()))}"] += 1
    for vm_id in reached:
        rows[key_of[vm_id]]["shared_reached"] += 1
    for vm_id, sent in first_sent.items():
        r = rows[key_of[vm_id]]
        r["emailed"] += 1
        r[f"email_{bucket(max(0.0, (sent - created_of[vm_id]).total_seconds()))}"] += 1

    # Call-backs through Relais started that day (keyed by their message), and those
    # that connected the professional with the caller.
    connected = {Callback.Status.COMPLETED, Callback.Status.TOO_SHORT}
    for status, dep, metier in Callback.objects.filter(
            created_at__gte=start, created_at__lt=end).values_list(
            "status", "voicemail__listing__establishment__commune__departement",
            "voicemail__metier_id"):
        r = rows[(dep or "", metier or "")]
        r["callbacks"] += 1
        if status in connected:
            r["callbacks_connected"] += 1

    confusions: Counter = Counter()
    for vm_id, kind, predicted, suggested in Feedback.objects.filter(
            delivery__voicemail__created_at__gte=start,
            delivery__voicemail__created_at__lt=end).values_list(
            "delivery__voicemail_id", "kind", "predicted_metier", "suggested_metier_id"):
        key = key_of.get(vm_id)
        if key is None:
            continue
        if kind == Feedback.Kind.WRONG_METIER:
            rows[key]["wrong_metier"] += 1
            confusions[(key[0], predicted or "", suggested or "")] += 1
        else:
            rows[key]["not_request"] += 1

    for vm_id in Unlock.objects.filter(**in_day).values_list("voicemail_id", flat=True):
        if vm_id in key_of:
            rows[key_of[vm_id]]["unlocks"] += 1
    for vm_id, kind, total in CreditEntry.objects.filter(
            unlock__voicemail__created_at__gte=start,
            unlock__voicemail__created_at__lt=end).values_list(
            "unlock__voicemail_id", "kind").annotate(total=Sum("amount")).order_by():
        if vm_id not in key_of:
            continue
        if kind == CreditEntry.Kind.UNLOCK:
            rows[key_of[vm_id]]["credits_spent"] += -total
        elif kind == CreditEntry.Kind.REFUND:
            rows[key_of[vm_id]]["credits_returned"] += total

    # Roll-ups: every département ("*"), every métier ("*"), both: the unfiltered and the
    # singly-filtered views read one row per day instead of thousands.
    for (dep, metier), counts in list(rows.items()):
        for key in ((ALL, metier), (dep, ALL), (ALL, ALL)):
            rows[key].update(counts)
    daily = [DailyFigures(day=day, departement=dep, metier=metier, **counts)
             for (dep, metier), counts in rows.items()]
    commune_rows = [CommuneDay(day=day, departement=key[0], metier=key[1], commune=commune,
                               messages=n) for (key, commune), n in communes.items()]
    confusion_rows = [ConfusionDay(day=day, departement=dep, predicted=p, suggested=s, count=n)
                      for (dep, p, s), n in confusions.items()]
    return daily, commune_rows, confusion_rows


def refresh(first: date, last: date) -> int:
    """Recompute every day from ``first`` to ``last`` (inclusive); returns the day count."""
    started = clock.monotonic()
    day, n = first, 0
    while day <= last:
        daily, commune_rows, confusion_rows = compute_day(day)
        with transaction.atomic():
            for model in (DailyFigures, CommuneDay, ConfusionDay):
                model.objects.filter(day=day).delete()
            DailyFigures.objects.bulk_create(daily, batch_size=500)
            CommuneDay.objects.bulk_create(commune_rows, batch_size=500)
            ConfusionDay.objects.bulk_create(confusion_rows, batch_size=500)
        day += timedelta(days=1)
        n += 1
    Refresh.objects.update_or_create(name="summary", defaults={
        "finished_at": timezone.now(), "days": n, "seconds": clock.monotonic() - started})
    return n


def refresh_recent() -> int:
    """Today and yesterday (periodic job)."""
    today = local_day(timezone.now())
    return refresh(today - timedelta(days=1), today)


def refresh_late() -> int:
    """The last RELAIS_CONSOLE_LATE_DAYS days: late unlocks, feedback, moderation (daily)."""
    today = local_day(timezone.now())
    days = getattr(settings, "RELAIS_CONSOLE_LATE_DAYS", 35)
    return refresh(today - timedelta(days=days), today)
