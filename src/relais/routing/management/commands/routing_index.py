"""``relais routing_index``: check or rebuild the recipient index."""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from relais.routing import index
from relais.routing.models import RecipientIndex


class Command(BaseCommand):
    help = ("Compare the recipient index with the listings and fix differences "
            "(default), or rebuild it from scratch (--rebuild).")

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true",
                            help="Empty the index and fill it again.")

    def handle(self, *args, rebuild=False, verbosity=1, **options):
        if rebuild:
            with tqdm(desc="index", unit=" rows", disable=verbosity < 1) as bar:
                n = index.rebuild(progress=bar.update)
            self.stdout.write(f"Recipient index rebuilt: {n} rows.")
            return
        result = index.reconcile()
        self.stdout.write(
            f"Recipient index: {RecipientIndex.objects.count()} rows; "
            f"{result['stale']} stale and {result['missing']} missing row(s) fixed."
        )
