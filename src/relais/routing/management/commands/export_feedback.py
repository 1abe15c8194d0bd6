"""``relais export_feedback``: "pas pour moi" feedback as labelled JSONL for retraining."""

import sys
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from relais.routing import services


def parse_since(value: str | None) -> datetime | None:
    """The ``--since YYYY-MM-DD`` option of the feedback commands (midnight, local time)."""
    if not value:
        return None
    try:
        return timezone.make_aware(datetime.strptime(value, "%Y-%m-%d"))
    except ValueError as exc:
        raise CommandError(f"--since must be YYYY-MM-DD, not {value!r}") from exc


class Command(BaseCommand):
    help = ("Write the professionals' feedback as labelled JSONL examples (redacted text "
            "plus the label correction); `relais retrain_from_feedback` adds them to the "
            "classifier's examples and retrains.")

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", default="-", help="File to write (default: stdout).")
        parser.add_argument("--since",
                            help="Only feedback given on or after this date (YYYY-MM-DD).")

    def handle(self, *args, output="-", since=None, **options):
        start = parse_since(since)
        out = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
        n = 0
        try:
            for line in services.feedback_jsonl(start):
                out.write(line)
                n += 1
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"{n} example(s) written to {output if output != '-' else 'stdout'}.")
