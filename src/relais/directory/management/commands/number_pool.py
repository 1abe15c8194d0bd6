"""relais number_pool add NUMBER… | status — the number pool (relais.directory.pool)."""

from django.core.management.base import BaseCommand, CommandError

from relais.core.phones import NumberError, to_e164
from relais.directory import pool


class Command(BaseCommand):
    help = ("The number pool shown on listings' pages: add numbers, or show its use and "
            "the size the last hour's traffic needs.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add numbers (E.164 or French format)")
        add.add_argument("numbers", nargs="+")
        sub.add_parser("status", help="size, free, bound, quiet; the size needed")

    def handle(self, *args, action, **options):
        if action == "add":
            try:
                values = [to_e164(n) for n in options["numbers"]]
            except NumberError as exc:
                raise CommandError(f"not a phone number: {exc}") from exc
            try:
                created = pool.add_numbers(values)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"{len(created)} number(s) added to the pool")
            return
        s = pool.status()
        self.stdout.write(
            f"pool: {s.size} numbers — {s.free} free, {s.bound} bound, {s.quiet} quiet\n"
            f"bindings in the last hour: {s.bindings_last_hour}; numbers needed at that "
            f"rate: {s.needed}")
        if s.needed > s.size:
            self.stdout.write(self.style.WARNING(
                f"the pool is too small for this traffic: add {s.needed - s.size} numbers"))
