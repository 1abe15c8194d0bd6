"""The two classifiers (intent, métier): training from the corpus, caching on disk.

Both are TF-IDF (stemmed word 1–2-grams + character 2–5-grams) and a logistic
regression; the intent model also sees the lexicon counts of ``features.py``. They are
trained from the shipped corpus's train split and the train template families
(generated.py) (plus the taxonomy's own phrases for the
métier model, plus any extra examples the operator added with ``relais
train_classifier --extra``), at first use, and cached under the model cache folder keyed
by a hash of everything they were trained from.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn import config_context
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from relais.directory.reference import METIERS_FILE

from . import generated
from .features import INTENTS, Analysis, analyse, dense_features, model_text
from .metiers import metier_documents, taxonomy
from .text import DATA, UNDERSTANDING_DATA

log = logging.getLogger(__name__)

# Bump when features or training change: invalidates cached models.
MODEL_VERSION = "2"
CORPUS = DATA / "corpus"
EXTRA_FILE_NAME = "understanding-extra.jsonl"
KEEP_MODELS = 3  # cached model files kept (the newest)


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def corpus(split: str) -> list[dict]:
    """The labelled corpus shipped with Relais: the hand-written ``train`` or ``test``
    split, or ``heldout``: the rows of the held-out template families (generated.py),
    which training never sees."""
    if split == "heldout":
        return generated.rows("heldout")
    if split not in {"train", "test"}:
        raise ValueError("split must be 'train', 'test' or 'heldout'")
    return load_jsonl(CORPUS / f"{split}.jsonl")


def model_dir() -> Path:
    """Where trained models are cached: settings.RELAIS_MODEL_CACHE, else the environment."""
    try:
        from django.conf import settings

        if settings.configured:
            return Path(settings.RELAIS_MODEL_CACHE)
    except ImportError:  # pragma: no cover - Django is a dependency
        pass
    if os.environ.get("RELAIS_MODEL_CACHE"):
        return Path(os.environ["RELAIS_MODEL_CACHE"])
    # An empty RELAIS_DATA_DIR is unset, not the current folder.
    return Path(os.environ.get("RELAIS_DATA_DIR", "").strip() or "var").resolve() / "models"


def extra_file() -> Path:
    return model_dir() / EXTRA_FILE_NAME


def validate_example(row: object) -> dict:
    """An extra training example: {"text", "intent", "metier"?}; raises ValueError."""
    if not isinstance(row, dict):
        raise ValueError("an example is a JSON object")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' must be a non-empty string")
    intent = row.get("intent")
    if intent not in INTENTS:
        raise ValueError(f"'intent' must be one of {', '.join(INTENTS)}")
    metier = row.get("metier")
    if metier is not None and metier not in taxonomy():
        raise ValueError(f"unknown métier {metier!r}")
    return {"text": text, "intent": intent, "metier": metier}



def add_extra_examples(rows: list[dict]) -> tuple[int, int]:
    """Append ``rows`` (validated examples) to the extra examples file, skipping those
    already in it; returns (added, already known). Retrain afterwards."""
    target = extra_file()
    known = set()
    if target.exists():
        for line in target.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                known.add((r.get("text"), r.get("intent"), r.get("metier")))
    new = [r for r in rows if (r["text"], r["intent"], r["metier"]) not in known]
    if new:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a", encoding="utf-8") as f:
            for row in new:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(new), len(rows) - len(new)

# One message at a time: sklearn's input validation would cost more than the prediction.
def _fast():
    return config_context(assume_finite=True, skip_parameter_validation=True)


@dataclass
class Models:
    word: TfidfVectorizer
    char: TfidfVectorizer
    intent: LogisticRegression
    m_word: TfidfVectorizer
    m_char: TfidfVectorizer
    metier: LogisticRegression
    key: str
    n_examples: int

    def intent_matrix(self, analyses: list[Analysis]):
        texts = [model_text(a) for a in analyses]
        folded = [" ".join(a.words) for a in analyses]
        dense = sparse.csr_matrix(np.vstack([dense_features(a) for a in analyses]))
        return sparse.hstack(
            [self.word.transform(texts), self.char.transform(folded), dense]
        ).tocsr()

    def intent_proba(self, a: Analysis) -> dict[str, float]:
        with _fast():
            p = self.intent.predict_proba(self.intent_matrix([a]))[0]
        return dict(zip((str(c) for c in self.intent.classes_), (float(x) for x in p), strict=True))

    def metier_proba(self, a: Analysis) -> dict[str, float]:
        with _fast():
            x = sparse.hstack(
                [self.m_word.transform([model_text(a)]), self.m_char.transform([" ".join(a.words)])]
            ).tocsr()
            p = self.metier.predict_proba(x)[0]
        return dict(zip((str(c) for c in self.metier.classes_), (float(v) for v in p), strict=True))


def train(rows: list[dict], key: str = "") -> Models:
    """Fit both classifiers on labelled rows ({"text", "intent", "metier"?})."""
    analyses = [analyse(r["text"]) for r in rows]
    texts = [model_text(a) for a in analyses]
    folded = [" ".join(a.words) for a in analyses]
    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                           max_features=30_000)
    dense = sparse.csr_matrix(np.vstack([dense_features(a) for a in analyses]))
    x = sparse.hstack([word.fit_transform(texts), char.fit_transform(folded), dense]).tocsr()
    y = [r["intent"] for r in rows]
    intent = LogisticRegression(C=8.0, max_iter=3000, class_weight="balanced")
    intent.fit(x, y)

    m_rows = [(a, r["metier"]) for a, r in zip(analyses, rows, strict=True)
              if r.get("metier") and r["intent"] in {"quote_request", "follow_up"}]
    docs = [analyse(t) for t, _ in metier_documents()]
    m_an = [a for a, _ in m_rows] + docs
    m_y = [m for _, m in m_rows] + [m for _, m in metier_documents()]
    m_word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    m_char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=1,
                             max_features=15_000)
    mx = sparse.hstack([
        m_word.fit_transform([model_text(a) for a in m_an]),
        m_char.fit_transform([" ".join(a.words) for a in m_an]),
    ]).tocsr()
    metier = LogisticRegression(C=20.0, max_iter=3000)
    metier.fit(mx, m_y)
    return Models(word, char, intent, m_word, m_char, metier, key, len(rows))


def training_rows(include_extra: bool = True) -> tuple[list[dict], str]:
    """The rows the default models learn from, and a hash of everything they depend on."""
    h = hashlib.sha256(MODEL_VERSION.encode())
    for path in (CORPUS / "train.jsonl", generated.TEMPLATES, UNDERSTANDING_DATA / "lexicons.toml",
                 METIERS_FILE):
        h.update(path.read_bytes())
    rows = corpus("train") + generated.rows("train")
    extra = extra_file()
    if include_extra and extra.exists():
        data = extra.read_bytes()
        h.update(data)
        rows += [validate_example(json.loads(line)) for line in data.decode().splitlines()
                 if line.strip()]
    return rows, h.hexdigest()[:16]


def load_or_train(include_extra: bool = True, force: bool = False) -> Models:
    """The cached models for the current training data, training them when needed.

    Several workers starting together train once: the first takes a lock on the cache
    folder, the others wait for it and load what it saved."""
    folder = model_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / "understanding.lock").open("a")
    except OSError:
        return _load_or_train(include_extra, force)
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _load_or_train(include_extra, force)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _load_or_train(include_extra: bool, force: bool) -> Models:
    rows, key = training_rows(include_extra)
    folder = model_dir()
    path = folder / f"understanding-{key}.joblib"
    if path.exists() and not force:
        try:
            models = joblib.load(path)
            if isinstance(models, Models) and models.key == key:
                return models
        except Exception:  # a corrupt or foreign cache file: retrain
            log.warning("ignoring unreadable model cache %s", path, exc_info=True)
    models = train(rows, key)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as tmp:
            joblib.dump(models, tmp.name)
        os.replace(tmp.name, path)  # atomic: concurrent workers never read half a file
        cached = sorted(folder.glob("understanding-*.joblib"), key=lambda p: p.stat().st_mtime)
        for old in cached[:-KEEP_MODELS]:
            old.unlink(missing_ok=True)
    except OSError:
        log.warning("could not cache the understanding models in %s", folder, exc_info=True)
    return models
