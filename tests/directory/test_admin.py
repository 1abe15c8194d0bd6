import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from relais.directory.admin import CappedCountPaginator
from tests.factories import row, run_import

pytestmark = pytest.mark.django_db


def test_establishment_admin_never_counts_the_whole_table(admin_client, stock, monkeypatch):
    run_import(stock([row(f"3{i:012d}1") for i in range(30)]))
    monkeypatch.setattr(CappedCountPaginator, "CAP", 10)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get("/admin/directory/establishment/")
    assert response.status_code == 200
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()
              and "directory_establishment" in q["sql"]]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    found = admin_client.get("/admin/directory/establishment/", {"q": "30000000000051"})
    assert "30000000000051" in found.content.decode()
    assert admin_client.get("/admin/directory/establishment/30000000000051/change/") \
        .status_code == 200


def test_establishment_admin_finds_a_siret_or_the_establishments_of_a_siren(admin_client,
                                                                          stock):
    run_import(stock([row("30000000000011"), row("30000000000029"), row("30000000100015"),
                      row("29999999900018")]))

    def found(q):
        page = admin_client.get("/admin/directory/establishment/", {"q": q}).content.decode()
        return {s for s in ("30000000000011", "30000000000029", "30000000100015",
                            "29999999900018") if f"{s}/change/" in page}

    assert found("30000000000029") == {"30000000000029"}
    assert found("300000000") == {"30000000000011", "30000000000029"}  # one SIREN
    assert found(" 300 000 001 ") == {"30000000100015"}
    assert found("3000") == set() and found("plomberie") == set()


@pytest.mark.parametrize("url", ["/admin/directory/commune/?q=Créteil",
                                 "/admin/directory/nafcode/?q=plomberie",
                                 "/admin/directory/metier/", "/admin/pros/listing/",
                                 "/admin/pros/professional/"])
def test_operator_admin_pages_load(admin_client, url):
    assert admin_client.get(url).status_code == 200
