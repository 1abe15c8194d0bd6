"""Site-wide pages: the development outbox (demo mode only)."""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from .models import OutboxMessage


def outbox(request):
    """Emails and SMS the embedded default keeps instead of sending (RELAIS_DEMO only)."""
    if not settings.RELAIS_DEMO:
        raise Http404
    messages = OutboxMessage.objects.all()
    kind = request.GET.get("type")
    if kind in OutboxMessage.Kind.values:
        messages = messages.filter(kind=kind)
    page = Paginator(messages, 20).get_page(request.GET.get("page"))
    return render(request, "core/outbox.html", {"page": page, "kind": kind})
