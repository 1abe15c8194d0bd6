#!/usr/bin/env python3
"""Set up and run Relais on a fresh machine with only python3 and the package registries.

    python3 dev.py start   install into .venv/, load the demo, start web + worker
    python3 dev.py test    install into .venv/ (with test tools), run the whole test suite

Both are idempotent. Extra arguments after ``test`` go to pytest.
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"


def run(*cmd, **kw) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def ensure_venv(lock: str) -> None:
    """Create .venv and install the locked dependencies; skipped when nothing changed."""
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"Relais needs Python 3.11 (this is {sys.version.split()[0]}).")
    if not PY.exists():
        run(sys.executable, "-m", "venv", VENV)
    lock_path = ROOT / lock
    stamp = VENV / f".installed-{lock}"
    digest = hashlib.sha256(
        lock_path.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-r", lock_path)
    run(PY, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ROOT)
    stamp.write_text(digest)


def start() -> None:
    ensure_venv("requirements.lock")
    env = dict(os.environ)
    env.setdefault("DEBUG", "1")
    # The demo: fictitious data, the local phone (the public placeholder credentials are
    # accepted only in this mode), the outbox pages, a banner on every page.
    env.setdefault("RELAIS_DEMO", "1")
    env.setdefault("RELAIS_DATA_DIR", str(ROOT / "var"))
    port = env.get("PORT", "8000")
    env.setdefault("RELAIS_PUBLIC_URL", f"http://127.0.0.1:{port}")
    relais = BIN / "relais"
    run(relais, "migrate", "--no-input", env=env)
    run(relais, "seed_demo", env=env)
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "relais.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--access-logfile", "-"],
        env=env,
    )
    worker = subprocess.Popen([str(relais), "worker", "--no-reload"], env=env)
    url = env["RELAIS_PUBLIC_URL"] + "/"
    print(f"\nRelais runs at {url} (web + worker). Ctrl-C stops both.\n", flush=True)

    def stop(*_):
        for p in (web, worker):
            if p.poll() is None:
                p.terminate()
        for p in (web, worker):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        sys.exit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        for p in (web, worker):
            if p.poll() is not None:
                print(f"{p.args[0]} exited with {p.returncode}; stopping.", flush=True)
                stop()
        time.sleep(1)


def test(args: list[str]) -> None:
    ensure_venv("requirements-dev.lock")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("note: /usr/bin/chromium is missing; browser tests will fail "
              "(apt-get install chromium, as .ci/run does).", flush=True)
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "dev.py", cwd=ROOT)
    # The one-way stack (pyproject.toml [tool.importlinter], docs/architecture.md).
    run(BIN / "lint-imports", cwd=ROOT)
    run(PY, "-m", "pytest", *args, cwd=ROOT)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"start", "test"}:
        sys.exit(__doc__)
    if sys.argv[1] == "start":
        start()
    else:
        test(sys.argv[2:])


if __name__ == "__main__":
    main()
