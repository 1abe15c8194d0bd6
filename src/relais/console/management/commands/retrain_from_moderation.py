"""``relais retrain_from_moderation``: add the operators' moderation decisions to the
classifier's extra examples, then retrain (``relais train_classifier``).

An approval confirms the métier, a correction gives the right one (a request of that
métier); a refusal teaches no label. Only the redacted text is used, each read audited.
``--dry-run`` prints the rows and stops.
"""

import json

from django.core.management import call_command
from django.core.management.base import BaseCommand

from relais.console import moderation
from relais.routing.management.commands.export_feedback import parse_since
from relais.voicemail.understanding import model


class Command(BaseCommand):
    help = "Add the moderation decisions to the classifier's examples and retrain it."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Only decisions made on or after (YYYY-MM-DD).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Print the training rows; add nothing, train nothing.")

    def handle(self, *args, since=None, dry_run=False, **options):
        rows, skipped = moderation.training_rows(parse_since(since))
        for reason in skipped:
            self.stderr.write(f"skipped {reason}")
        if dry_run:
            for row in rows:
                self.stdout.write(json.dumps(row, ensure_ascii=False))
            self.stderr.write(f"{len(rows)} row(s), {len(skipped)} skipped (dry run).")
            return
        added, known = model.add_extra_examples(rows)
        self.stdout.write(f"Moderation: {added} example(s) added, {known} already known, "
                          f"{len(skipped)} skipped.")
        call_command("train_classifier", stdout=self.stdout, stderr=self.stderr)
