"""INSEE's SIRENE StockEtablissement file: its columns, values and projections.

Shared by the importer (``import_sirene``) and the synthetic file generator
(``generate_sirene``) so both speak exactly the published format:
https://www.data.gouv.fr/fr/datasets/base-sirene-des-entreprises-et-de-leurs-etablissements-siren-siret/
(« Description des fichiers de stock », StockEtablissement_utf8.csv/.zip).
"""

import tomllib
from functools import cache
from pathlib import Path

from pyproj import Transformer

DATA = Path(__file__).resolve().parent / "data"

# The header of StockEtablissement_utf8.csv, in INSEE's order (2025 edition, with the
# NAF 2025 column added at the end). The importer finds columns by name, so older or
# newer editions (fewer or more columns, another order) import as well.
HEADER = (
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement",
    "dateDernierTraitementEtablissement",
    "etablissementSiege",
    "nombrePeriodesEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "dernierNumeroVoieEtablissement",
    "indiceRepetitionDernierNumeroVoieEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement",
    "distributionSpecialeEtablissement",
    "codeCommuneEtablissement",
    "codeCedexEtablissement",
    "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement",
    "libellePaysEtrangerEtablissement",
    "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "complementAdresse2Etablissement",
    "numeroVoie2Etablissement",
    "indiceRepetition2Etablissement",
    "typeVoie2Etablissement",
    "libelleVoie2Etablissement",
    "codePostal2Etablissement",
    "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement",
    "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement",
    "codeCedex2Etablissement",
    "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement",
    "libellePaysEtranger2Etablissement",
    "dateDebut",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
    "activitePrincipaleNAF25Etablissement",
)

# Columns the importer cannot do without; every other column is optional.
REQUIRED = ("siret", "etatAdministratifEtablissement", "codeCommuneEtablissement")

# The mask INSEE writes in fields of partially diffusible establishments
# (statutDiffusionEtablissement = P). It never reaches the database.
ND = "[ND]"

ACTIVE = "A"
CLOSED = "F"
DIFFUSIBLE = "O"
PARTIALLY_DIFFUSIBLE = "P"

# Values of nomenclatureActivitePrincipaleEtablissement, newest first.
NOMENCLATURES = ("NAFRev2", "NAFRev1", "NAF1993", "NAP")

# coordonneeLambert*Etablissement: Lambert-93 in metropolitan France and Corsica, the
# legal UTM projections overseas, chosen by the commune's département.
LAMBERT_93 = 2154
CRS_BY_DEPARTEMENT = {
    "971": 5490,  # Guadeloupe: RGAF09 / UTM zone 20N
    "972": 5490,  # Martinique: RGAF09 / UTM zone 20N
    "973": 2972,  # Guyane: RGFG95 / UTM zone 22N
    "974": 2975,  # La Réunion: RGR92 / UTM zone 40S
    "976": 4471,  # Mayotte: RGM04 / UTM zone 38S
}

# Commune codes of the overseas collectivities outside the DROM (Saint-Pierre-et-
# Miquelon, Saint-Barthélemy, Saint-Martin, Pacific): not covered by the reference
# communes, their establishments are left out (counted as skipped, not as errors).
UNCOVERED_COMMUNE_PREFIXES = ("975", "977", "978", "98")


def crs_for_departement(departement: str) -> int:
    """EPSG code of the projection SIRENE uses for coordinates in this département."""
    return CRS_BY_DEPARTEMENT.get(departement, LAMBERT_93)


@cache
def to_wgs84(epsg: int) -> Transformer:
    """Projected (x, y) → (longitude, latitude) WGS84 for one SIRENE projection."""
    return Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4326", always_xy=True)


@cache
def from_wgs84(epsg: int) -> Transformer:
    """(longitude, latitude) WGS84 → projected (x, y), as SIRENE writes coordinates."""
    return Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)


@cache
def street_types() -> dict[str, str]:
    """typeVoieEtablissement code → word (data/sirene.toml)."""
    with (DATA / "sirene.toml").open("rb") as f:
        return dict(tomllib.load(f)["type_voie"])


def format_siret(siret: str) -> str:
    """``55203253400012`` → ``552 032 534 00012``."""
    return f"{siret[0:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}" if len(siret) == 14 else siret


def luhn_ok(number: str) -> bool:
    """The Luhn check SIREN and SIRET numbers usually pass (La Poste's do not).

    Only the generator uses it; the importer never rejects a row for failing it.
    """
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(prefix: str) -> str:
    """Append the digit that makes ``prefix`` + digit pass the Luhn check."""
    for d in "0123456789":
        if luhn_ok(prefix + d):
            return prefix + d
    raise AssertionError("unreachable")
