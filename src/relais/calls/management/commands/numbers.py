"""``relais numbers``: the operator's pool of tracking numbers.

    relais numbers add +33199000001 +33199000002 …
    relais numbers list [--free]
    relais numbers assign +33199000001 SIRET
    relais numbers release +33199000001
"""

from django.core.management.base import BaseCommand, CommandError

from relais.calls import numbers
from relais.calls.models import TrackingNumber
from relais.core import phones
from relais.pros.models import Listing


class Command(BaseCommand):
    help = "Manage tracking numbers: add, list, assign to a claimed listing, release."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="Add numbers held at the provider to the pool.")
        add.add_argument("values", nargs="+", metavar="NUMBER")
        lst = sub.add_parser("list", help="List the pool.")
        lst.add_argument("--free", action="store_true", help="Only numbers free to assign.")
        assign = sub.add_parser("assign", help="Assign a number to a claimed listing.")
        assign.add_argument("number")
        assign.add_argument("siret")
        release = sub.add_parser("release", help="Give numbers back to the provider.")
        release.add_argument("values", nargs="+", metavar="NUMBER")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action}")(**options)
        except phones.NumberError as exc:
            raise CommandError(str(exc)) from exc

    def do_add(self, values: list[str], **_):
        added, existing = numbers.add_numbers(values)
        for n in added:
            self.stdout.write(f"added    {n.e164}  ({phones.format_fr(n.e164)})")
        for n in existing:
            self.stdout.write(f"present  {n.e164}  ({phones.format_fr(n.e164)})")
        free = numbers.free_numbers().count()
        self.stdout.write(self.style.SUCCESS(
            f"{len(added)} added, {len(existing)} already in the pool; {free} free."
        ))

    def do_list(self, free: bool = False, **_):
        rows = TrackingNumber.objects.select_related("listing__establishment").order_by("e164")
        if free:
            rows = numbers.free_numbers().order_by("e164")
        counts = {"free": 0, "assigned": 0, "released": 0}
        for n in rows:
            if n.released_at:
                state, who = "released", ""
            elif n.listing_id:
                est = n.listing.establishment
                state, who = "assigned", f"{est.siret} {est.name}"
            else:
                state, who = "free", ""
            counts[state] += 1
            line = f"{n.e164:<14} {phones.format_fr(n.e164):<16} {state:<9} {who}"
            self.stdout.write(line.rstrip())
        self.stdout.write(
            f"{sum(counts.values())} numbers: {counts['free']} free, "
            f"{counts['assigned']} assigned, {counts['released']} released."
        )

    def do_assign(self, number: str, siret: str, **_):
        listing = Listing.objects.select_related("establishment").filter(
            establishment_id=siret.replace(" ", "")
        ).first()
        if listing is None:
            raise CommandError(f"no claimed listing for SIRET {siret}")
        assigned = numbers.assign(number, listing)
        self.stdout.write(self.style.SUCCESS(
            f"{assigned.e164} now rings {listing.establishment.name} ({siret})."
        ))

    def do_release(self, values: list[str], **_):
        for value in values:
            released = numbers.release(value)
            self.stdout.write(f"released {released.e164}")
        self.stdout.write(self.style.SUCCESS(f"{len(values)} released."))
