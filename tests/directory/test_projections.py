"""SIRENE coordinates land within 100 m of the pyproj reference in every territory."""

import pytest
from pyproj import Transformer

from relais.directory.models import Commune, Establishment
from relais.directory.search import haversine_km
from tests.factories import row, run_import

pytestmark = pytest.mark.django_db

# Commune, the projection the territory's SIRENE coordinates use (written out here,
# independently of relais.directory.sirene).
TERRITORIES = [
    ("94028", 2154),  # Créteil, Lambert-93
    ("2A004", 2154),  # Ajaccio, Corse-du-Sud
    ("2B033", 2154),  # Bastia, Haute-Corse
    ("97120", 5490),  # Pointe-à-Pitre, Guadeloupe
    ("97209", 5490),  # Fort-de-France, Martinique
    ("97302", 2972),  # Cayenne, Guyane
    ("97411", 2975),  # Saint-Denis, La Réunion
    ("97611", 4471),  # Mamoudzou, Mayotte
]


@pytest.mark.parametrize("code, epsg", TERRITORIES)
def test_coordinates_convert_back_within_100_m(stock, code, epsg):
    commune = Commune.objects.get(code_insee=code)
    # 600 m north-east of the town hall, so the commune's point would not pass.
    lat, lon = commune.latitude + 0.004, commune.longitude + 0.004
    x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True).transform(lon, lat)
    siret = "30000000000011"
    run_import(stock([row(
        siret, codeCommuneEtablissement=code, codePostalEtablissement=commune.main_postal_code,
        coordonneeLambertAbscisseEtablissement=f"{x:.1f}",
        coordonneeLambertOrdonneeEtablissement=f"{y:.1f}",
    )]))
    e = Establishment.objects.get(siret=siret)
    assert e.geo_source == "sirene"
    assert haversine_km(lat, lon, e.latitude, e.longitude) < 0.1
    assert haversine_km(commune.latitude, commune.longitude, e.latitude, e.longitude) > 0.3


@pytest.mark.parametrize("x, y", [("", ""), ("[ND]", "[ND]"), ("abc", "6851234.5"),
                                  ("nan", "nan"), ("0", "0"), ("652000.0", "")])
def test_absent_or_unreadable_coordinates_use_the_commune_point(stock, x, y):
    run_import(stock([row(coordonneeLambertAbscisseEtablissement=x,
                          coordonneeLambertOrdonneeEtablissement=y)]))
    e = Establishment.objects.get()
    commune = Commune.objects.get(code_insee="94028")
    assert e.geo_source == "commune"
    assert (e.latitude, e.longitude) == (commune.latitude, commune.longitude)
