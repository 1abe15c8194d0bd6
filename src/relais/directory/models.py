"""The directory: reference data (NAF, communes, métiers) and establishments from SIRENE."""

from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CodeField(models.CharField):
    """A code or a normalised word (a SIRET, a NAF code, a word of a trade name) that
    compares byte by byte: PostgreSQL's "C" collation, SQLite's default (BINARY).

    Under any other collation (C.UTF-8 included) PostgreSQL calls strcoll for every
    comparison and sorts without abbreviated keys: the keys and the search index that a
    national load builds took up to 2.7 times as long (the SIRET key of 1M rows: 1.1 s,
    0.4 s in "C"). Equality is the same in every collation; digits, codes and normalised
    words sort the same way; a prefix range on a word is exact in "C". A comparison with
    a column of the database's default collation takes "C" (a non-default collation
    wins), so joins with other tables' SIRETs still use the key.
    """

    collations = {"postgresql": "C"}

    def db_parameters(self, connection):
        parameters = super().db_parameters(connection)
        if not self.db_collation:
            parameters["collation"] = self.collations.get(connection.vendor)
        return parameters

    @classmethod
    def collate(cls, connection) -> str:
        """SQL to give a temporary column the same collation (empty on SQLite)."""
        name = cls.collations.get(connection.vendor)
        return f' COLLATE "{name}"' if name else ""


class NafCode(models.Model):
    """A NAF rév. 2 code at any level (section, division, groupe, classe, sous-classe)."""

    code = models.CharField(max_length=8, primary_key=True)
    level = models.CharField(max_length=12)
    label = models.CharField(max_length=255)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("code NAF")
        verbose_name_plural = _("codes NAF")

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class Commune(models.Model):
    """A commune (or municipal arrondissement) with its postal codes and a point."""

    code_insee = models.CharField(max_length=5, primary_key=True)
    name = models.CharField(max_length=120)
    search_name = models.CharField(max_length=120, db_index=True)  # normalised, for lookup
    kind = models.CharField(max_length=32)
    departement = models.CharField(max_length=3, db_index=True)
    region = models.CharField(max_length=3, blank=True)
    postal_codes = models.CharField(max_length=255, blank=True)  # space-separated
    population = models.PositiveIntegerField(default=0)
    latitude = models.FloatField()
    longitude = models.FloatField()

    class Meta:
        ordering = ["name"]
        verbose_name = _("commune")

    def __str__(self) -> str:
        return f"{self.name} ({self.departement})"

    @property
    def main_postal_code(self) -> str:
        return self.postal_codes.split(" ")[0] if self.postal_codes else ""


class Metier(models.Model):
    """A trade people phone for, from the curated taxonomy (data/metiers.toml)."""

    slug = models.SlugField(max_length=64, primary_key=True)
    label = models.CharField(max_length=120)
    naf_codes = models.JSONField(default=list)  # NAF sous-classes it falls under
    default_for_naf = models.BooleanField(default=True)
    shareable = models.BooleanField(default=True)
    synonyms = models.JSONField(default=list)
    phrases = models.JSONField(default=list)

    class Meta:
        ordering = ["label"]
        verbose_name = _("métier")

    def __str__(self) -> str:
        return self.label


class Establishment(models.Model):
    """An establishment of the SIRENE register (StockEtablissement)."""

    class Diffusion(models.TextChoices):
        FULL = "O", _("diffusible")
        PARTIAL = "P", _("partiellement diffusible")

    class GeoSource(models.TextChoices):
        SIRENE = "sirene", _("coordonnées SIRENE")
        COMMUNE = "commune", _("point de la commune")

    siret = CodeField(max_length=14, primary_key=True)
    siren = models.CharField(max_length=9)
    name = models.CharField(max_length=255)
    # Normalised trade name (enseigne / dénomination usuelle), empty when SIRENE gives
    # none and ``name`` is a fallback built from the activity.
    search_name = models.CharField(max_length=255, blank=True)
    naf_code = CodeField(max_length=8, blank=True)
    naf_nomenclature = models.CharField(max_length=8, blank=True)
    naf25_code = models.CharField(max_length=8, blank=True)
    # No index and no database constraint: nothing looks establishments up by commune,
    # the SIRENE import checks every code against the communes table, and 40M rows
    # would pay for both on every import.
    commune = models.ForeignKey(
        Commune, null=True, blank=True, on_delete=models.DO_NOTHING, db_index=False,
        db_constraint=False,
    )
    postal_code = models.CharField(max_length=5, blank=True)
    address = models.CharField(max_length=255, blank=True)  # never set when diffusion is P
    diffusion = models.CharField(max_length=1, choices=Diffusion.choices, default=Diffusion.FULL)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    geo_source = models.CharField(max_length=8, choices=GeoSource.choices, blank=True)
    active = models.BooleanField(default=True)
    sirene_updated_at = models.CharField(max_length=19, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["siret"]
        verbose_name = _("établissement")
        indexes = [
            # The search index: métier → NAF codes, then a latitude band, longitude
            # checked in the index (see relais.directory.search).
            models.Index(
                fields=["naf_code", "latitude", "longitude"], name="directory_est_naf_geo"
            ),
            # No index on siren: a SIREN's establishments are a range of the primary key
            # (admin search); one index less to build and keep up on every import.
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.siret})"

    def get_absolute_url(self) -> str:
        return reverse("directory:listing", args=[self.siret])

    @property
    def has_trade_name(self) -> bool:
        """Whether ``name`` comes from SIRENE (enseigne / dénomination usuelle)."""
        return bool(self.search_name)

    @property
    def shows_address(self) -> bool:
        return self.diffusion == self.Diffusion.FULL and bool(self.address)


class NameToken(models.Model):
    """One word of an establishment's trade name, with its position: the index behind
    free-text search.

    Derived data, maintained by the SIRENE import for active establishments that have
    a trade name. The key (token, latitude, longitude, siret) answers "this word in this
    bounding box" from the index alone.
    """

    pk = models.CompositePrimaryKey("token", "latitude", "longitude", "siret")
    token = CodeField(max_length=32)
    latitude = models.FloatField()
    longitude = models.FloatField()
    siret = CodeField(max_length=14)

    class Meta:
        verbose_name = _("mot du nom")
        verbose_name_plural = _("mots des noms")

    def __str__(self) -> str:
        return f"{self.token} → {self.siret}"


class PoolNumber(models.Model):
    """A tracking number of the shared pool (dynamic number insertion): shown on any
    listing's page to one visitor at a time, bound for a while (:mod:`.pool`).

    ``free_at``: when the number may be bound again — its last binding's end plus the
    quiet period, pushed later by every call it receives (:func:`.pool.resolve`).
    """

    e164 = models.CharField(max_length=20, unique=True)
    active = models.BooleanField(default=True)
    free_at = models.DateTimeField(default=timezone.now)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["e164"]
        verbose_name = _("numéro du pool")
        verbose_name_plural = _("numéros du pool")
        indexes = [models.Index(fields=["active", "free_at"], name="directory_pool_free")]

    def __str__(self) -> str:
        return self.e164


class PoolBinding(models.Model):
    """One pool number bound to one listing (establishment) for one visitor, from
    ``bound_at`` to ``expires_at``. Calls arriving until ``quiet_until`` (the end plus
    the quiet period, later if calls keep coming) still reach this listing: the history
    of bindings is what attributes a call."""

    number = models.ForeignKey(PoolNumber, on_delete=models.CASCADE, related_name="bindings")
    siret = models.CharField(max_length=14)
    visitor = models.CharField(max_length=64)  # a keyed hash of the visitor's cookie
    bound_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    quiet_until = models.DateTimeField()

    class Meta:
        verbose_name = _("attribution d'un numéro du pool")
        verbose_name_plural = _("attributions des numéros du pool")
        indexes = [
            models.Index(fields=["number", "-bound_at"], name="directory_pool_number"),
            models.Index(fields=["visitor", "siret", "-expires_at"],
                         name="directory_pool_visitor"),
        ]

    def __str__(self) -> str:
        return f"{self.number_id} → {self.siret}"
