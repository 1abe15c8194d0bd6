"""A SIRENE import (bulk SQL, no signals) leaves the recipient index in step."""

import pytest

from relais.directory.models import Establishment, Metier
from relais.pros.models import Listing
from relais.routing.models import RecipientIndex
from tests import factories as f
from tests.factories import lambert, row, run_import

pytestmark = pytest.mark.django_db


def test_an_establishment_closed_or_moved_by_the_import_leaves_or_moves_in_the_index(stock):
    run_import(stock([row("30000000000011"), row("30000000000029")]))
    listings = []
    for siret in ("30000000000011", "30000000000029"):
        item = Listing.objects.create(establishment_id=siret, professional=f.professional(),
                                      status=Listing.Status.APPROVED)
        item.metiers.set(Metier.objects.filter(slug="plombier"))
        listings.append(item)
    assert RecipientIndex.objects.count() == 2
    x, y = lambert(45.764, 4.8357)  # to Lyon
    run_import(stock([
        row("30000000000011", etatAdministratifEtablissement="F"),
        row("30000000000029", coordonneeLambertAbscisseEtablissement=x,
            coordonneeLambertOrdonneeEtablissement=y, codeCommuneEtablissement="69381",
            codePostalEtablissement="69001", libelleCommuneEtablissement="LYON 1ER"),
    ]))
    assert not Establishment.objects.get(siret="30000000000011").active
    moved = Establishment.objects.get(siret="30000000000029")
    assert round(moved.latitude, 2) == 45.76
    assert not RecipientIndex.objects.filter(listing=listings[0]).exists()
    assert RecipientIndex.objects.get(listing=listings[1]).latitude == moved.latitude
