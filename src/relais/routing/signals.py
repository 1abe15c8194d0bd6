"""Keep the recipient index in step with listings, their métiers and establishments.

Connected in RoutingConfig.ready(). Each handler rewrites the index rows of the listings
concerned, inside the same transaction as the change (a rolled-back change leaves the
index as it was). Bulk updates send no model signal: the SIRENE import sends the
directory's ``establishments_changed`` (then the index is reconciled), others are
repaired by the daily reconcile job (see relais.routing.index).
"""

from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from relais.directory.models import Establishment
from relais.directory.signals import establishments_changed
from relais.pros.models import Listing

from . import index

LISTING_FIELDS = {"status", "shared_paused", "service_radius_km", "professional",
                  "professional_id", "establishment", "establishment_id"}
ESTABLISHMENT_FIELDS = {"active", "latitude", "longitude"}


def _relevant(update_fields, fields) -> bool:
    return update_fields is None or bool(set(update_fields) & fields)


@receiver(post_save, sender=Listing, dispatch_uid="routing.listing_saved")
def listing_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or not _relevant(update_fields, LISTING_FIELDS):
        return
    index.sync_listings([instance.pk])


@receiver(m2m_changed, sender=Listing.metiers.through, dispatch_uid="routing.metiers_changed")
def metiers_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action == "pre_clear" and reverse:
        # metier.listings.clear(): remember which listings lose it.
        instance._routing_cleared = list(instance.listings.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        index.sync_listings([instance.pk])
    elif action == "post_clear":
        index.sync_listings(getattr(instance, "_routing_cleared", []))
    else:
        index.sync_listings(pk_set or [])


@receiver(post_save, sender=Establishment, dispatch_uid="routing.establishment_saved")
def establishment_saved(sender, instance, raw=False, created=False, update_fields=None,
                        **kwargs):
    if raw or created or not _relevant(update_fields, ESTABLISHMENT_FIELDS):
        return
    ids = list(Listing.objects.filter(establishment_id=instance.pk).values_list("pk", flat=True))
    if ids:
        index.sync_listings(ids)


@receiver(establishments_changed, dispatch_uid="routing.establishments_changed")
def establishments_bulk_changed(sender, using="default", **kwargs):
    # Establishments that closed or moved by the import: the index reads only the
    # claimed listings (seconds). Only the default database holds the index.
    if using == "default":
        index.reconcile()
