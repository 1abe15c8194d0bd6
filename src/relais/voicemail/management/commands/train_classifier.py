"""``relais train_classifier``: (re)train the voicemail understanding models.

Trains the intent and métier classifiers from the shipped corpus (train split), the métier
taxonomy and the extra examples collected so far, and caches them under
RELAIS_MODEL_CACHE. ``--extra FILE`` first adds labelled examples from a JSON Lines file,
one ``{"text", "intent", "metier"?}`` per line (later: professionals' "pas pour moi"
feedback); they are kept in RELAIS_MODEL_CACHE/understanding-extra.jsonl and used by every
later training. Invalid lines are reported and nothing is added.
"""

import json
import time

from django.core.management.base import BaseCommand, CommandError

from relais.voicemail.understanding import model, reset_understander


class Command(BaseCommand):
    help = "Train the voicemail understanding classifiers (intent, métier) and cache them."

    def add_arguments(self, parser):
        parser.add_argument("--extra", help="JSON Lines file of extra labelled examples to add")

    def handle(self, *args, **options):
        added = 0
        if options["extra"]:
            added = self._add_extra(options["extra"])
        started = time.monotonic()
        models = model.load_or_train(include_extra=True, force=True)
        reset_understander()
        self.stdout.write(
            f"Trained on {models.n_examples} examples ({added} added now) "
            f"in {time.monotonic() - started:.1f} s; model {models.key} cached in "
            f"{model.model_dir()}"
        )

    def _add_extra(self, path: str) -> int:
        rows, problems = [], []
        try:
            with open(path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        rows.append(model.validate_example(json.loads(line)))
                    except ValueError as exc:
                        problems.append(f"line {n}: {exc}")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        if problems:
            raise CommandError("nothing added; fix these lines:\n" + "\n".join(problems[:20]))
        target = model.extra_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return len(rows)
