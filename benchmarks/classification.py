"""Classification benchmark: quality of understanding and redaction on the corpus test split.

    .venv/bin/python benchmarks/classification.py [--split test|heldout|train] [--seconds 5]

``--split heldout``: the held-out template families (never trained on). The routing
figures of issue 16 come first: ``requests_auto_shared`` (genuine shareable requests
shared without a person), ``non_requests_auto_shared`` (must be 0),
``auto_shared_trade_accuracy``, ``moderation_share`` (messages a person must look at),
then ``reliability`` (the calibrated confidence's reliability curve).

Prints one JSON line: per-intent precision/recall, shareable precision/recall (the flag,
and what routing shares automatically at RELAIS_SHARE_CONFIDENCE_THRESHOLD), métier
accuracy, urgency accuracy, personal/billing/follow-up messages marked shareable (must
be 0), redaction leaks (annotated phones, emails, names… left in the redacted text) and
throughput in messages per second. The models are trained on the train split only (no
operator extras), exactly as shipped.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault(
    "RELAIS_MODEL_CACHE", str(Path(tempfile.gettempdir()) / "relais-bench-models")
)

from relais.voicemail.understanding import model, redact  # noqa: E402
from relais.voicemail.understanding.decide import Understander  # noqa: E402
from relais.voicemail.understanding.evaluation import evaluate  # noqa: E402
from relais.voicemail.understanding.metiers import metier_info  # noqa: E402
from relais.voicemail.understanding.nlp import nlp  # noqa: E402

THRESHOLD = float(os.environ.get("RELAIS_SHARE_CONFIDENCE_THRESHOLD", "0.8"))


def throughput(fn, texts: list[str], seconds: float) -> tuple[float, float]:
    """(messages per wall-clock second, messages per CPU second of this process).

    On a machine shared with other jobs the second one says what a free core would do."""
    n, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for t in texts:
            fn(t)
        n += len(texts)
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    return round(n / wall, 1), round(n / used, 1)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=["test", "heldout", "train"])
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput measure")
    args = parser.parse_args()

    t0 = time.perf_counter()
    models = model.load_or_train(include_extra=False)
    train_seconds = round(time.perf_counter() - t0, 1)
    u = Understander(models)
    nlp()  # load spaCy before timing
    rows = model.corpus(args.split)

    quality = evaluate(rows, u, THRESHOLD)
    texts = [r["text"] for r in rows]

    def classify(t):
        d = u.understand(t)
        return d, metier_info(d.metier) if d.metier else None, redact(t)

    result = {
        "benchmark": "classification",
        "split": args.split,
        **quality,
        **{
            f"throughput_{name}_{unit}": value
            for name, fn in (("understand", u.understand), ("redact", redact),
                             ("classify", classify))
            for unit, value in zip(("per_s", "per_cpu_s"), throughput(fn, texts, args.seconds),
                                   strict=True)
        },
        "train_or_load_seconds": train_seconds,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
