"""``relais retrain_from_feedback``: add the professionals' "pas pour moi" feedback to the
classifier's extra examples, then retrain (``relais train_classifier``).

Feedback becomes labelled rows (see ``routing.services.feedback_training_rows``): "not a
request" → a non-request intent; "wrong métier" with a suggested métier → a request of that
métier; "wrong métier" without a suggestion is skipped (nothing the classifier can learn).
Only the redacted text is used. Rows already in the extra examples file are not added
twice, so the command can run on a schedule. ``--dry-run`` prints the rows and stops.
"""

import json

from django.core.management import call_command
from django.core.management.base import BaseCommand

from relais.routing import services
from relais.routing.management.commands.export_feedback import parse_since
from relais.voicemail.understanding import model


class Command(BaseCommand):
    help = ("Add the professionals' feedback to the classifier's examples and retrain it.")

    def add_arguments(self, parser):
        parser.add_argument("--since",
                            help="Only feedback given on or after this date (YYYY-MM-DD).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Print the training rows; add nothing, train nothing.")

    def handle(self, *args, since=None, dry_run=False, **options):
        start = parse_since(since)
        rows, skipped = services.feedback_training_rows(start)
        for reason in skipped:
            self.stderr.write(f"skipped {reason}")
        if dry_run:
            for row in rows:
                self.stdout.write(json.dumps(row, ensure_ascii=False))
            self.stderr.write(f"{len(rows)} row(s), {len(skipped)} skipped (dry run).")
            return
        added, known = model.add_extra_examples(rows)
        self.stdout.write(f"Feedback: {added} example(s) added, "
                          f"{known} already known, {len(skipped)} skipped.")
        call_command("train_classifier", stdout=self.stdout, stderr=self.stderr)
