"""``relais --help``: the operator's commands grouped, each with an example; progress on a
terminal for long commands."""

import os
import pty
import subprocess
import sys

from tests.helpers import relais_isolated


def test_help_groups_the_operator_commands_with_examples(tmp_path):
    demo = relais_isolated({"RELAIS_DATA_DIR": str(tmp_path), "RELAIS_DEMO": "1",
                            "DEBUG": "1"}, "--help", timeout=120)
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    head = out[:out.index("Toutes les commandes")]
    for group in ("Annuaire (SIRENE)", "Conservation et données personnelles",
                  "Modération et routage", "Crédits", "Démo"):
        assert f"  {group}" in head
    assert "relais import_sirene StockEtablissement_utf8.zip" in head
    assert "relais purge" in head and "relais simulate_call --to +33199000001" in head
    assert "[directory]" in out  # Django's full list follows
    # Without the demo app, its commands are not offered.
    plain = relais_isolated({"RELAIS_DATA_DIR": str(tmp_path), "DEBUG": "1"}, "help",
                            timeout=120)
    assert plain.returncode == 0 and "simulate_call" not in plain.stdout
    assert "import_sirene" in plain.stdout


def test_purge_shows_progress_on_a_terminal_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH")}
    env.update(RELAIS_ENV_FILE="", RELAIS_DATA_DIR=str(tmp_path), DEBUG="1", RELAIS_DEMO="1")
    cmd = [sys.executable, "-m", "relais.cli"]
    assert subprocess.run([*cmd, "migrate", "--no-input"], env=env, capture_output=True,
                          timeout=120).returncode == 0
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run([*cmd, "purge"], env=env, stdout=subprocess.PIPE,
                              stderr=secondary, text=True, timeout=120)
        os.close(secondary)
        tty = b""
        while True:
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            tty += chunk
    finally:
        os.close(primary)
    assert done.returncode == 0
    assert "lot 1 : " in tty.decode()
    assert "Purgé : " in done.stdout
    piped = subprocess.run([*cmd, "purge"], env=env, capture_output=True, text=True,
                           timeout=120)
    assert piped.returncode == 0 and "lot 1" not in piped.stderr
