"""``relais purge``: apply the retention periods now (the periodic job does it daily)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from relais.privacy import services


class Command(BaseCommand):
    help = ("Supprime ce qui a dépassé sa durée de conservation : enregistrements "
            "(RELAIS_RETENTION_AUDIO_DAYS), transcriptions (RELAIS_RETENTION_TRANSCRIPT_DAYS), "
            "métadonnées de routage et numéros (RELAIS_RETENTION_METADATA_DAYS).")

    def handle(self, *args, **options):
        total = services.PurgeReport()
        while True:
            report = services.purge()
            for name in ("audio", "transcripts", "metadata", "calls", "files"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if not report.more:
                break
        report = total
        self.stdout.write(
            f"Conservation : audio {settings.RELAIS_RETENTION_AUDIO_DAYS} j, transcriptions "
            f"{settings.RELAIS_RETENTION_TRANSCRIPT_DAYS} j, métadonnées "
            f"{settings.RELAIS_RETENTION_METADATA_DAYS} j.")
        self.stdout.write(f"Purgé : {report}.")
