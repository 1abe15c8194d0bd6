from django.core.management.base import BaseCommand

from relais.demo import seed as demo
from relais.demo.numbers import ensure_demo_numbers, ensure_demo_pool


class Command(BaseCommand):
    help = (
        "Load the demo: a generated Île-de-France directory, claimed professional "
        "accounts and their tracking numbers (idempotent; see README, Demo)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=demo.DEMO_ROWS)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, rows, no_progress, **options):
        listings = demo.seed(rows=rows, progress=False if no_progress else None,
                             log=self.stdout.write)
        numbers = {n.listing_id: n.e164 for n in ensure_demo_numbers(listings)}
        for listing in listings:
            e = listing.establishment
            self.stdout.write(
                f"  {listing.professional.user.email}: {e.name} ({e.siret}), "
                f"tracking number {numbers.get(listing.pk, '-')}"
            )
        shared = ensure_demo_pool()
        self.stdout.write(f"  number pool (any listing's page, « Afficher le numéro »): "
                          f"{len(shared)} numbers, {shared[0]} … {shared[-1]}")
        self.stdout.write(self.style.SUCCESS("demo ready"))
