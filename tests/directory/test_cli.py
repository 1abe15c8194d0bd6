"""The real `relais` command: exit status and one clear error line on a migrated database."""

import sqlite3

import pytest

from tests.factories import row, write_stock
from tests.helpers import relais_isolated

pytestmark = pytest.mark.slow


def relais(data_dir, *args):
    return relais_isolated({"RELAIS_DATA_DIR": str(data_dir), "DEBUG": "true",
                            "DATABASE_URL": "", "LOG_LEVEL": "WARNING",
                            "RELAIS_DEMO": "1"}, *args)  # the embedded default as dev.py starts it


def test_import_command_exit_status_and_error_line(tmp_path):
    data = tmp_path / "data"
    assert relais(data, "migrate", "--no-input", "-v0").returncode == 0
    good = write_stock(tmp_path / "good.zip", [row("30000000000011"), row("30000000000029")])
    ok = relais(data, "import_sirene", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "created 2" in ok.stdout

    def snapshot():
        with sqlite3.connect(data / "relais.sqlite3") as db:
            return db.execute("SELECT siret, name, active, updated_at FROM "
                              "directory_establishment ORDER BY siret").fetchall()

    before = snapshot()
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:-40])
    for bad in (empty, truncated):
        result = relais(data, "import_sirene", str(bad))
        assert result.returncode != 0
        lines = [x for x in result.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("CommandError: "), result.stderr
        assert snapshot() == before
