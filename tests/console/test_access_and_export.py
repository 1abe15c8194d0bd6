"""Who may open the console, and the CSV export."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from relais.console import export, summary
from relais.directory.models import Metier
from tests import factories as f

PAGES = ["console:dashboard", "console:export", "console:moderation"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_the_login(client, db, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "next=" in response["Location"]


@pytest.mark.parametrize("name", PAGES)
def test_a_professional_is_refused(client, db, name):
    client.force_login(f.professional().user)
    assert client.get(reverse(name)).status_code == 403


def test_staff_sees_the_console_but_not_moderation_without_the_permission(client, db):
    client.force_login(f.staff("regard", []))
    assert client.get(reverse("console:dashboard")).status_code == 200
    assert client.get(reverse("console:export")).status_code == 200
    assert client.get(reverse("console:moderation")).status_code == 403
    client.force_login(f.staff("lecteur", ["view_routingdecision"]))
    assert client.get(reverse("console:moderation")).status_code == 200


def test_the_csv_holds_the_figures_and_no_formula(client, traffic):
    # An operator-edited label that a spreadsheet would run as a formula.
    Metier.objects.filter(slug="plombier").update(label='=HYPERLINK("http://x","plombier")')
    today = summary.local_day(traffic["now"])
    summary.refresh(today - timedelta(days=2), today + timedelta(days=1))
    client.force_login(traffic["ops"])
    response = client.get(reverse("console:export"), {"jours": "7", "departement": "44"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1] == ["département", "44"]
    header = rows[4]
    total = next(r for r in rows if r and r[0] == "total")
    got = dict(zip(header[1:], total[1:], strict=True))
    assert (got["voicemails"], got["calls"], got["shared"]) == ("4", "3", "1")
    metier_rows = [r for r in rows if r and r[0] == "plombier"]
    assert metier_rows[0][1].startswith("'=HYPERLINK")
    assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r)
    assert "+33" not in response.content.decode()  # no caller number


@pytest.mark.parametrize("cell,expected", [
    ("=1+1", "'=1+1"), ("+33612", "'+33612"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("plombier", "plombier"), (-3, -3), (0.25, 0.25),
    (None, ""),
])
def test_formula_injection_is_neutralised(cell, expected):
    assert export.safe(cell) == expected


@pytest.mark.django_db
def test_the_refresh_s_time_columns_are_indexed_after_migrating():
    """The test database is migrated: introspection sees one index on each time column
    the refresh filters on (SQLite and PostgreSQL alike; a raw-SQL index used to vanish
    on SQLite when a later migration rebuilt the table)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table, column, name in (("voicemail_voicemail", "created_at",
                                     "voicemail_created_at"),
                                    ("calls_call", "started_at", "call_started_at")):
            constraints = connection.introspection.get_constraints(cursor, table)
            assert name in constraints, (table, sorted(constraints))
            assert constraints[name]["index"] and constraints[name]["columns"] == [column]
            single = [n for n, c in constraints.items()
                      if c["index"] and c["columns"] == [column]]
            assert single == [name], single  # the raw-SQL duplicate is gone
