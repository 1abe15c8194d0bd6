"""Pages: the professional's call log."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from relais.privacy import audit

from . import numbers
from .models import Call


@login_required
def call_log(request):
    """The calls received on the professional's own listings, newest first."""
    professional = getattr(request.user, "professional", None)
    calls = Call.objects.none()
    if professional is not None:
        calls = (
            Call.objects.filter(listing__professional=professional)
            .select_related("listing__establishment", "voicemail")
            .order_by("-started_at")
        )
    page = Paginator(calls, 50).get_page(request.GET.get("page"))
    rows = [
        {
            "call": call,
            "caller": numbers.format_fr(call.caller_e164) if call.caller_e164 else None,
            "voicemail": getattr(call, "voicemail", None),
        }
        for call in page
    ]
    # The professional reads callers' numbers here: one audit row per number shown.
    for row in rows:
        if row["caller"]:
            call = row["call"]
            audit.record(actor=audit.Actor.professional(request.user, call.listing),
                         action=audit.READ_CALLER_NUMBER, voicemail=row["voicemail"],
                         detail={"via": "call_log", "call": call.pk})
    return render(request, "calls/call_log.html", {"page": page, "rows": rows,
                                                   "has_account": professional is not None})
