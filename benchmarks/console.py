"""Console benchmark: the operator's console over a year of national traffic.

    /work/main/.venv/bin/python benchmarks/console.py [--days 365] [--per-day 5000] \
        [--database-url postgres://postgres@127.0.0.1:5432/relais_bench_console]

Generates ``--days`` days of traffic ending today, ``--per-day`` messages a day (and
about 1.6 calls per message, 40 % of them answered), bulk-inserted straight into the
tables through the ORM: claimed listings placed at communes drawn by population, each
message's routing decision (outcomes and reasons in realistic shares), its deliveries
(own + 1–3 shared recipients when shared, e-mailed and opened at random delays), some
"pas pour moi", unlocks with their ledger entries and refunds. Then refreshes the whole
summary (``relais refresh_console``'s function, timed), times the periodic refresh of
today and yesterday, and times the console's page (30 and 90 days, with and without
filters) and its CSV export through Django's test client, as a logged-in operator.

Prints JSON lines: one per timed operation, then a summary line with the machine's
load average (the machine is shared).
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _setup import LoadSampler, django_setup, prepare  # noqa: E402

OUTCOMES = (  # (outcome, moderation, reasons, share of messages)
    ("shared", "", ["share_ok"], 0.30),
    ("own_only", "", ["consent_private"], 0.38),
    ("own_only", "", ["not_shareable"], 0.12),
    ("own_only", "", ["consent_private", "not_shareable"], 0.05),
    ("own_only", "", ["metier_not_shareable"], 0.02),
    ("own_only", "", ["no_metier", "not_shareable"], 0.03),
    ("shared", "", ["share_ok", "no_recipient"], 0.03),
    ("moderation", "pending", ["under_threshold"], 0.02),
    ("shared", "approved", ["under_threshold", "moderation_approved"], 0.03),
    ("own_only", "rejected", ["under_threshold", "moderation_rejected"], 0.02),
)


def emit(**fields):
    print(json.dumps(fields, ensure_ascii=False), flush=True)


def build_listings(n: int, rng: random.Random):
    from django.contrib.auth import get_user_model

    from relais.directory.models import Commune, Establishment, Metier
    from relais.pros.models import Listing, Professional

    communes = list(Commune.objects.filter(population__gt=0).values_list(
        "code_insee", "latitude", "longitude", "population"))
    metiers = list(Metier.objects.values_list("slug", flat=True))
    places = rng.choices(communes, weights=[c[3] for c in communes], k=n)
    User = get_user_model()
    User.objects.bulk_create([User(username=f"bench{i}", email=f"bench{i}@example.org",
                                   password="!") for i in range(n)],  # noqa: S106 - unusable
                            batch_size=5000)
    users = list(User.objects.filter(username__startswith="bench").order_by("pk"))
    Professional.objects.bulk_create([Professional(user=u) for u in users], batch_size=5000)
    pros = list(Professional.objects.order_by("pk"))
    Establishment.objects.bulk_create([
        Establishment(siret=f"{90000000000000 + i}", siren=f"{900000000 + i}",
                      name=f"Entreprise {i}", commune_id=c[0], latitude=c[1], longitude=c[2])
        for i, c in enumerate(places)], batch_size=5000)
    Listing.objects.bulk_create([
        Listing(establishment_id=f"{90000000000000 + i}", professional=pros[i],
                status="approved") for i in range(n)], batch_size=5000)
    listings = list(Listing.objects.order_by("pk").values_list("pk", "professional_id"))
    trades = [rng.choice(metiers) for _ in listings]
    Listing.metiers.through.objects.bulk_create([
        Listing.metiers.through(listing_id=pk, metier_id=trades[i])
        for i, (pk, _) in enumerate(listings)], batch_size=5000)
    return [(pk, pro, trades[i]) for i, (pk, pro) in enumerate(listings)]


def backdate() -> None:
    """Let bulk_create keep the generated times: the time columns are auto_now_add
    (which would stamp every row with now). In this process only."""
    from relais.calls.models import Call
    from relais.routing.models import Delivery, RoutingDecision
    from relais.voicemail.models import Voicemail

    for model, name in ((Voicemail, "created_at"), (Call, "started_at"),
                        (RoutingDecision, "created_at"), (Delivery, "created_at")):
        model._meta.get_field(name).auto_now_add = False


def generate_day(day, per_day, listings, rng, seq):
    from django.utils import timezone

    from relais.calls.models import Call
    from relais.credits.models import CreditEntry, Unlock
    from relais.routing.models import Delivery, Feedback, RoutingDecision
    from relais.voicemail.models import Voicemail

    tz = timezone.get_current_timezone()
    midnight = timezone.make_aware(datetime.combine(day, datetime.min.time()), tz)
    weights = [o[3] for o in OUTCOMES]
    vms, decisions, deliveries, feedback, unlocks, entries, calls = [], [], [], [], [], [], []
    for _ in range(per_day):
        n = next(seq)
        at = midnight + timedelta(seconds=rng.randrange(7 * 3600, 21 * 3600))
        listing_id, pro_id, trade = rng.choice(listings)
        outcome, moderation, reasons, _ = rng.choices(OUTCOMES, weights=weights)[0]
        vm = Voicemail(id=uuid.uuid4(), reference=str(10_000_000 + n), listing_id=listing_id,
                       metier_id=None if "no_metier" in reasons else trade, status="done",
                       consent="private" if "consent_private" in reasons else "share",
                       confidence=round(rng.uniform(0.5, 1.0), 2), created_at=at)
        vms.append(vm)
        calls.append(Call(call_sid=f"CA{n:032x}", listing_id=listing_id, outcome="voicemail",
                          to_e164="+33100000000", started_at=at))
        if rng.random() < 0.6:  # answered calls: ~1.6 calls per message, 40 % answered
            calls.append(Call(call_sid=f"CB{n:032x}", listing_id=listing_id,
                              outcome="answered", to_e164="+33100000000", started_at=at))
        decisions.append(RoutingDecision(voicemail_id=vm.id, outcome=outcome,
                                         moderation=moderation, created_at=at,
                                         reasons=[{"code": c, "text": c} for c in reasons]))
        sent = at + timedelta(seconds=rng.lognormvariate(4.0, 0.8))
        opened = sent + timedelta(seconds=rng.lognormvariate(8.0, 1.5)) \
            if rng.random() < 0.7 else None
        deliveries.append(Delivery(voicemail_id=vm.id, listing_id=listing_id, kind="own", rank=0,
                                   professional_id=pro_id, status="sent", created_at=at,
                                   sent_at=sent, first_opened_at=opened))
        if outcome == "shared" and "no_recipient" not in reasons:
            others = {rng.randrange(len(listings)) for _ in range(rng.randint(1, 3))}
            for rank, i in enumerate(sorted(others), start=1):
                other_id, other_pro, _ = listings[i]
                if other_id == listing_id:
                    continue
                d = Delivery(id=uuid.uuid4(), voicemail_id=vm.id, listing_id=other_id,
                             kind="shared", rank=rank, professional_id=other_pro,
                             status="sent", created_at=at, sent_at=sent,
                             first_opened_at=opened)
                deliveries.append(d)
                if rng.random() < 0.04:
                    kind = rng.choice(["wrong_metier", "not_a_request"])
                    feedback.append(Feedback(delivery_id=d.id, kind=kind, predicted_metier=trade,
                                             suggested_metier_id=rng.choice(listings)[2]
                                             if kind == "wrong_metier" else None))
                if rng.random() < 0.25:
                    u = Unlock(delivery_id=d.id, voicemail_id=vm.id, professional_id=other_pro,
                               cost=1, created_at=at, voicemail_reference=vm.reference,
                               refunded_at=at if rng.random() < 0.05 else None)
                    unlocks.append(u)
    Voicemail.objects.bulk_create(vms, batch_size=2000)
    Call.objects.bulk_create(calls, batch_size=2000)
    RoutingDecision.objects.bulk_create(decisions, batch_size=2000)
    Delivery.objects.bulk_create(deliveries, batch_size=2000)
    Feedback.objects.bulk_create(feedback, batch_size=2000)
    Unlock.objects.bulk_create(unlocks, batch_size=2000)
    for u in Unlock.objects.filter(voicemail__created_at__gte=midnight,
                                   voicemail__created_at__lt=midnight + timedelta(days=1)):
        entries.append(CreditEntry(professional_id=u.professional_id, amount=-u.cost,
                                   kind="unlock", unlock=u, created_at=u.created_at))
        if u.refunded_at:
            entries.append(CreditEntry(professional_id=u.professional_id, amount=u.cost,
                                       kind="refund", unlock=u, created_at=u.refunded_at))
    CreditEntry.objects.bulk_create(entries, batch_size=2000)
    return len(vms) + len(calls) + len(decisions) + len(deliveries) + len(feedback) \
        + 2 * len(unlocks)


def replicate(today, raw_days: int, days: int) -> None:
    """Fill the summary's older days with copies of the refreshed days' rows (what
    refreshing the same traffic would write), so the page reads a year of rows: one
    INSERT … SELECT per table and day, inside the database."""
    from django.db import connection, transaction

    from relais.console.models import CommuneDay, ConfusionDay, DailyFigures

    with transaction.atomic(), connection.cursor() as cursor:
        for model in (DailyFigures, CommuneDay, ConfusionDay):
            table = model._meta.db_table
            cols = [f.column for f in model._meta.concrete_fields
                    if f.column not in ("id", "day")]
            names = ", ".join(connection.ops.quote_name(c) for c in cols)
            cursor.execute(f"DELETE FROM {table} WHERE day <= %s",
                           [today - timedelta(days=raw_days)])
            for i in range(raw_days, days):
                cursor.execute(
                    f"INSERT INTO {table} (day, {names}) SELECT %s, {names} FROM {table} "
                    "WHERE day = %s",
                    [today - timedelta(days=i), today - timedelta(days=i % raw_days)])


def screenshot(client, path: str) -> None:
    """The 30-day page in headless Chromium, every request answered by Django's test
    client (no server to start)."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls are sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    def answer(route):
        url = route.request.url.split("testserver", 1)[1]
        response = client.get(url, secure=True)
        body = b"".join(response) if response.streaming else response.content
        route.fulfill(status=response.status_code, body=body,
                      headers={"content-type": response.get("Content-Type", "text/html")})

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.route("**/*", answer)
        page.goto("https://testserver/operateur/?jours=30")
        page.screenshot(path=path, full_page=True)
        browser.close()


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--per-day", type=int, default=5000)
    p.add_argument("--raw-days", type=int, default=0,
                   help="generate raw traffic for only the last N days (default: all) and "
                        "fill the summary's other days with copies of their rows")
    p.add_argument("--listings", type=int, default=20000)
    p.add_argument("--reuse", default="",
                   help="a data folder (SQLite) or, with --database-url, any value: keep the "
                        "generated traffic of an earlier run there and start at the refresh")
    p.add_argument("--database-url", default="")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=20261203)
    p.add_argument("--screenshot", default="",
                   help="also save a PNG of the 30-day page (Chromium), e.g. docs/img/console.png")
    args = p.parse_args()
    if args.reuse:
        os.environ.update({"RELAIS_DATA_DIR": args.reuse, "DEBUG": "false",
                           "SECRET_KEY": "benchmark-only", "LOG_LEVEL": "WARNING",
                           "DATABASE_URL": args.database_url,
                           "TWILIO_ACCOUNT_SID": "AC" + "be" * 16,
                           "TWILIO_AUTH_TOKEN": "benchmark-only-token"})
    else:
        prepare(args.database_url or None)
    os.environ["ALLOWED_HOSTS"] = "testserver"
    django_setup()
    import itertools

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from relais.console import summary

    settings.ALLOWED_HOSTS = ["testserver"]
    engine = connection.vendor
    load = LoadSampler()
    rng = random.Random(args.seed)
    started = time.perf_counter()
    today = summary.local_day(timezone.now())
    raw_days = min(args.raw_days or args.days, args.days)
    rows = 0
    if not args.reuse:
        backdate()
        listings = build_listings(args.listings, rng)
        seq = itertools.count()
        for i in range(raw_days):
            with transaction.atomic():
                rows += generate_day(today - timedelta(days=raw_days - 1 - i), args.per_day,
                                     listings, rng, seq)
        emit(benchmark="console", engine=engine, op="generate", days=raw_days,
             messages=raw_days * args.per_day, rows=rows,
             seconds=round(time.perf_counter() - started, 1))

    started = time.perf_counter()
    summary.refresh(today - timedelta(days=raw_days - 1), today)
    seconds = time.perf_counter() - started
    emit(benchmark="console", engine=engine, op="refresh_full", days=raw_days,
         seconds=round(seconds, 1), seconds_per_day=round(seconds / raw_days, 2))
    if raw_days < args.days:
        started = time.perf_counter()
        replicate(today, raw_days, args.days)
        emit(benchmark="console", engine=engine, op="summary_replicated",
             days=args.days - raw_days, from_days=raw_days,
             seconds=round(time.perf_counter() - started, 1))
    median, worst = timed(summary.refresh_recent, args.repeat)
    emit(benchmark="console", engine=engine, op="refresh_recent (2 days)",
         median_s=round(median, 3), max_s=round(worst, 3))

    ops, _ = get_user_model().objects.get_or_create(
        username="bench-ops", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(ops)
    dep = "75"
    for label, path, params in (
        ("page 30 days", "/operateur/", {"jours": "30"}),
        ("page 90 days", "/operateur/", {"jours": "90"}),
        ("page 90 days, département 75", "/operateur/", {"jours": "90", "departement": dep}),
        ("page 30 days, métier plombier", "/operateur/", {"jours": "30", "metier": "plombier"}),
        ("CSV 90 days", "/operateur/chiffres.csv", {"jours": "90"}),
    ):
        def get(path=path, params=params):
            response = client.get(path, params, secure=True)
            assert response.status_code == 200, response.status_code

        get()  # warm
        median, worst = timed(get, args.repeat)
        emit(benchmark="console", engine=engine, op=label, median_s=round(median, 3),
             max_s=round(worst, 3))
    if args.screenshot:
        screenshot(client, args.screenshot)
    from relais.console.models import DailyFigures

    emit(benchmark="console", engine=engine, op="summary", summary_rows=DailyFigures.objects
         .count(), cpus=os.cpu_count(), machine=platform.machine(),
         load_average_mean=load.mean(), python=platform.python_version())


if __name__ == "__main__":
    main()
