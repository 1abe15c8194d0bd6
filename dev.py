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


# What `start` used, for the `relais` command run from this checkout in a plain shell
# (src/relais/settings.py reads it; variables set in the environment still win).
ENV_FILE = ROOT / "var" / "relais.env"
ENV_KEYS = ("RELAIS_DATA_DIR", "DEBUG", "RELAIS_DEMO", "RELAIS_PUBLIC_URL", "PORT")
# Passed on only when set for `start` (a database, a task backend of one's own).
ENV_KEYS_IF_SET = ("DATABASE_URL", "RELAIS_TASKS_BACKEND", "REDIS_URL", "CACHE_URL",
                   "EMAIL_URL", "RELAIS_STORAGE")


def write_env_file(env: dict, port: str) -> None:
    values = dict(env, PORT=port)
    lines = ["# Written by `python3 dev.py start`: the settings it used. The `relais` command",
             "# run from this checkout reads them; variables set in the environment win."]
    for key in ENV_KEYS + ENV_KEYS_IF_SET:
        if key in values and (key in ENV_KEYS or os.environ.get(key)):
            if "\n" in values[key]:
                sys.exit(f"{key} must be on one line.")
            lines.append(f"{key}={values[key]}")
    ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    ENV_FILE.write_text("\n".join(lines) + "\n")
    ENV_FILE.chmod(0o600)
    print(f"settings written to {ENV_FILE.relative_to(ROOT)}", flush=True)


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
    write_env_file(env, port)
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


# Debian packages the tests use: Chromium (the browser tests, driven by Playwright) and
# espeak-ng (spoken test voicemails); .ci/run installs the same.
# npm installs axe-core (tests/a11y, the accessibility checks of the browser tests).
DEBS = {"chromium": "/usr/bin/chromium", "espeak-ng": "/usr/bin/espeak-ng", "npm": "npm"}
A11Y = ROOT / "tests" / "a11y"


def ensure_system_packages() -> None:
    """Install the missing Debian packages as root on Debian; otherwise stop with the command."""
    missing = [pkg for pkg, path in DEBS.items() if not shutil.which(path)]
    if not missing:
        return
    command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run("apt-get", "update", "-qq", env=env)
        run(*command, env=env)
        return
    sudo = "" if os.geteuid() == 0 else "sudo "
    sys.exit(f"The tests need {' and '.join(missing)}: run `{sudo}apt-get update && {sudo}"
             f"{' '.join(command)}` (Debian), then `python3 dev.py test` again.")


def ensure_axe() -> None:
    """axe-core at the version tests/a11y/package-lock.json pins (npm ci), once per lock."""
    lock = (A11Y / "package-lock.json").read_bytes()
    stamp = A11Y / "node_modules" / ".installed-lock"
    if stamp.exists() and stamp.read_bytes() == lock:
        return
    run("npm", "ci", "--prefix", A11Y, "--ignore-scripts", "--no-audit", "--no-fund")
    stamp.write_bytes(lock)


def test(args: list[str]) -> None:
    ensure_system_packages()
    ensure_venv("requirements-dev.lock")
    ensure_axe()
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
