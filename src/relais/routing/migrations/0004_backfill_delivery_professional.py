"""Existing deliveries get the professional they were made for, as far as it is known.

Deliveries did not record their professional before 0003: the listing's current holder
is the best guess, and only a safe one for deliveries created since the listing's
current approval (``approved_at``). Older deliveries may have been made for a previous
holder: they get none, so no professional reads them any more (operators and the
caller still do). A listing approved without a recorded approval time (``approved_at``
empty) gives no sign of a change of hands: its holder keeps its deliveries. Deliveries
of listings not approved today get none either. See docs/privacy.md, "Change of hands".
"""

from django.db import migrations
from django.db.models import F, OuterRef, Q, Subquery


def backfill(apps, schema_editor):
    Delivery = apps.get_model("routing", "Delivery")
    Listing = apps.get_model("pros", "Listing")
    holder = Listing.objects.filter(pk=OuterRef("listing_id")).values("professional_id")[:1]
    Delivery.objects.filter(
        Q(listing__approved_at__isnull=True) | Q(created_at__gte=F("listing__approved_at")),
        professional__isnull=True, listing__status="approved",
    ).update(professional_id=Subquery(holder))


class Migration(migrations.Migration):

    dependencies = [
        ("routing", "0003_delivery_professional"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
