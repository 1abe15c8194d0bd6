"""``relais --help``: the operator's commands grouped, each with an example; progress on a
terminal for long commands."""

import io
import sys

import pytest
from django.core.management import call_command

from relais.cli import operator_help
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
    plain = operator_help({"import_sirene", "purge"})
    assert "simulate_call" not in plain and "Démo" not in plain
    assert "import_sirene" in plain and "purge" in plain


@pytest.mark.django_db
def test_purge_shows_progress_on_a_terminal_only(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    for stream, expect_progress in ((Terminal(), True), (io.StringIO(), False)):
        monkeypatch.setattr(sys, "stderr", stream)
        out = io.StringIO()
        call_command("purge", stdout=out)
        assert ("lot 1 : " in stream.getvalue()) is expect_progress
        assert "Purgé : " in out.getvalue()
