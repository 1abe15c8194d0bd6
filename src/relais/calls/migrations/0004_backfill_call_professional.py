"""Existing calls get the professional who held the listing, as far as it is known.

Calls did not record their professional before 0003: the listing's current holder is
the best guess, and only a safe one for calls received since the listing's current
approval (``approved_at``). Older calls may have been for a previous holder: they get
none, so they leave every call log (operators still see them). A listing approved
without a recorded approval time gives no sign of a change of hands: its holder keeps
its calls. See docs/privacy.md, "Change of hands".
"""

from django.db import migrations
from django.db.models import F, OuterRef, Q, Subquery


def backfill(apps, schema_editor):
    Call = apps.get_model("calls", "Call")
    Listing = apps.get_model("pros", "Listing")
    holder = Listing.objects.filter(pk=OuterRef("listing_id")).values("professional_id")[:1]
    Call.objects.filter(
        Q(listing__approved_at__isnull=True) | Q(started_at__gte=F("listing__approved_at")),
        professional__isnull=True, listing__status="approved",
    ).update(professional_id=Subquery(holder))


class Migration(migrations.Migration):

    dependencies = [
        ("calls", "0003_call_professional"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
