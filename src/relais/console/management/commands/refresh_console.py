"""``relais refresh_console``: recompute the console's summary for past days (backfill).

The periodic jobs keep the last days fresh; run this once after installing the console,
or after importing history: ``relais refresh_console --days 365``.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.utils import timezone

from relais.console import summary


class Command(BaseCommand):
    help = "Recompute the operator console's daily figures for the last DAYS days."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90,
                            help="How many days back from today (default 90).")

    def handle(self, *args, days=90, **options):
        if days < 1:
            self.stderr.write("--days must be at least 1.")
            raise SystemExit(2)
        today = summary.local_day(timezone.now())
        n = summary.refresh(today - timedelta(days=days - 1), today)
        self.stdout.write(f"{n} day(s) refreshed.")
