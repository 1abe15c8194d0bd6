"""``relais purge``: apply the retention periods now (the periodic job does it daily)."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from relais.privacy import services


class Command(BaseCommand):
    help = ("Supprime ce qui a dépassé sa durée de conservation : enregistrements "
            "(RELAIS_RETENTION_AUDIO_DAYS), transcriptions (RELAIS_RETENTION_TRANSCRIPT_DAYS), "
            "métadonnées de routage et numéros (RELAIS_RETENTION_METADATA_DAYS).")

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true",
                            help="no progress line, even on a terminal")

    def handle(self, *args, **options):
        total = services.PurgeReport()
        # On a terminal, each batch shows what is done so far (a long backlog takes a while).
        progress = sys.stderr.isatty() and not options.get("no_progress")
        rounds = 0
        while True:
            report = services.purge()
            rounds += 1
            for name in ("audio", "transcripts", "metadata", "calls", "files"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if progress:
                sys.stderr.write(f"\rlot {rounds} : {total}")
                sys.stderr.flush()
            if not report.more:
                break
        if progress:
            sys.stderr.write("\n")
        report = total
        self.stdout.write(
            f"Conservation : audio {settings.RELAIS_RETENTION_AUDIO_DAYS} j, transcriptions "
            f"{settings.RELAIS_RETENTION_TRANSCRIPT_DAYS} j, métadonnées "
            f"{settings.RELAIS_RETENTION_METADATA_DAYS} j.")
        self.stdout.write(f"Purgé : {report}.")
