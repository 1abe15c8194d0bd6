"""The recipient index: exact against a brute-force scan, and kept up to date."""

import pytest

from relais.directory.models import Metier
from relais.pros.models import Listing
from relais.routing import geo, index
from relais.routing.models import RecipientIndex
from tests import factories as f
from tests.factories import NANTES, offset

pytestmark = pytest.mark.django_db

# --- maintenance -------------------------------------------------------------------------------


def rows(item):
    return sorted(RecipientIndex.objects.filter(listing=item).values_list("metier_id", flat=True))


def test_only_approved_listings_are_indexed_and_approval_adds_them():
    item = f.listing(*NANTES, ["plombier", "electricien"], status=Listing.Status.PENDING)
    assert rows(item) == []
    item.status = Listing.Status.APPROVED
    item.save()
    assert rows(item) == ["electricien", "plombier"]
    row = RecipientIndex.objects.get(listing=item, metier_id="plombier")
    assert row.cell == geo.cell_id(*NANTES)
    assert (row.latitude, row.longitude) == NANTES
    assert row.professional_id == item.professional_id
    item.status = Listing.Status.REJECTED
    item.save(update_fields=["status"])
    assert rows(item) == []


def test_metier_changes_follow_both_sides_of_the_relation():
    item = f.listing(*NANTES, ["plombier"])
    item.metiers.add(Metier.objects.get(slug="serrurier"))
    assert rows(item) == ["plombier", "serrurier"]
    item.metiers.remove(Metier.objects.get(slug="plombier"))
    assert rows(item) == ["serrurier"]
    Metier.objects.get(slug="vitrier").listings.add(item)  # reverse side
    assert rows(item) == ["serrurier", "vitrier"]
    Metier.objects.get(slug="vitrier").listings.clear()
    assert rows(item) == ["serrurier"]
    item.metiers.clear()
    assert rows(item) == []
    item.metiers.set(Metier.objects.filter(slug__in=["plombier", "chauffagiste"]))
    assert rows(item) == ["chauffagiste", "plombier"]


def test_radius_pause_and_deactivation_are_followed():
    item = f.listing(*NANTES, ["plombier"], radius=30)
    item.service_radius_km = 12
    item.save()
    assert RecipientIndex.objects.get(listing=item).service_radius_km == 12
    item.shared_paused = True
    item.save()
    assert rows(item) == []
    item.shared_paused = False
    item.save()
    assert rows(item) == ["plombier"]
    establishment = item.establishment
    establishment.active = False
    establishment.save()
    assert rows(item) == []
    establishment.active = True
    establishment.latitude, establishment.longitude = 48.8566, 2.3522
    establishment.save()
    row = RecipientIndex.objects.get(listing=item)
    assert (row.latitude, row.cell) == (48.8566, geo.cell_id(48.8566, 2.3522))
    item.delete()
    assert not RecipientIndex.objects.exists()


def test_a_listing_that_changes_hands_moves_to_the_new_professional():
    item = f.listing(*NANTES, ["plombier"])
    new = f.professional()
    item.professional = new
    item.save()
    assert RecipientIndex.objects.get(listing=item).professional_id == new.pk


def test_bulk_updates_are_repaired_by_reconcile_and_rebuild():
    a = f.listing(*NANTES, ["plombier"])
    b = f.listing(*offset(*NANTES, 5), ["plombier"])
    c = f.listing(*offset(*NANTES, 9), ["serrurier"])
    # Bulk updates send no signal: the index is now wrong for a and b.
    Listing.objects.filter(pk=a.pk).update(shared_paused=True)
    Listing.objects.filter(pk=b.pk).update(service_radius_km=3)
    RecipientIndex.objects.filter(listing=c).delete()
    result = index.reconcile()
    assert result == {"rows": 2, "stale": 2, "missing": 2}
    assert rows(a) == [] and rows(c) == ["serrurier"]
    assert RecipientIndex.objects.get(listing=b).service_radius_km == 3
    assert index.reconcile() == {"rows": 2, "stale": 0, "missing": 0}
    RecipientIndex.objects.all().delete()
    assert index.rebuild() == 2
    assert index.reconcile()["stale"] == 0


def test_sync_establishments_after_a_bulk_import():
    item = f.listing(*NANTES, ["plombier"])
    type(item.establishment).objects.filter(pk=item.establishment_id).update(active=False)
    assert rows(item) == ["plombier"]  # stale until told
    assert index.sync_establishments([item.establishment_id]) == 0
    assert rows(item) == []


def test_the_live_recheck_catches_a_stale_index_and_the_search_asks_for_more(settings):
    from relais.routing import services
    from relais.routing.models import Delivery

    settings.RELAIS_ROUTING_MAX_RECIPIENTS = 1
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    no_email = [f.listing(*offset(*NANTES, 1 + i), ["plombier"], pro=f.professional(email=""))
                for i in range(3)]
    stale = f.listing(*offset(*NANTES, 4.5), ["plombier"], email="stale@example.fr")
    good = f.listing(*offset(*NANTES, 20), ["plombier"], email="good@example.fr")
    # Paused by a bulk update: no signal, the index still lists it.
    Listing.objects.filter(pk=stale.pk).update(shared_paused=True)
    assert rows(stale) == ["plombier"]
    decision = services.route_voicemail(f.voicemail(called, audio=False))
    shared = Delivery.objects.filter(voicemail=decision.voicemail, kind="shared")
    assert [d.listing for d in shared.filter(status="pending")] == [good]
    assert sorted(d.listing_id for d in shared.filter(status="skipped")) == sorted(
        n.pk for n in no_email)
    assert {"listing_id": stale.pk, "code": "paused"}.items() <= next(
        e for e in decision.excluded if e["listing_id"] == stale.pk).items()


def test_the_routing_index_command_checks_and_rebuilds():
    import io

    from django.core.management import call_command

    item = f.listing(*NANTES, ["plombier", "serrurier"])
    RecipientIndex.objects.filter(listing=item, metier_id="serrurier").delete()
    out = io.StringIO()
    call_command("routing_index", stdout=out)
    assert "2 rows; 0 stale and 1 missing row(s) fixed" in out.getvalue()
    out = io.StringIO()
    call_command("routing_index", rebuild=True, verbosity=0, stdout=out)
    assert "rebuilt: 2 rows" in out.getvalue()
    assert rows(item) == ["plombier", "serrurier"]
