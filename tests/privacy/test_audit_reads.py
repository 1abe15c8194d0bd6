"""Every view that reads a recording, a transcript or a caller's number leaves its
audit row: one walk through all of them, counting the rows each request appends."""

import pytest
from django.urls import reverse

from relais.calls.models import Call
from relais.core.models import AuditEvent
from relais.credits import services as credits
from relais.routing import links
from relais.routing.models import RoutingDecision
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import CALLER, CALLER_FR
from tests.helpers import last_code

# Unlocking shows the number only where the operator enables it (RELAIS_REVEAL_NUMBERS).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reveal_numbers")]


def operator():
    return f.staff("operatrice", [
        "view_voicemail", "view_call", "view_delivery", "view_auditevent",
        "view_routingdecision", "change_routingdecision", "view_creditentry", "view_unlock"])


def new_rows(since: int):
    return sorted((e.actor_kind, e.action) for e in AuditEvent.objects.filter(pk__gt=since))


def last_id() -> int:
    last = AuditEvent.objects.order_by("-pk").first()
    return last.pk if last else 0


def test_each_read_of_personal_data_leaves_its_audit_row(client, shared_message):
    vm, own, (near, _far) = shared_message
    call = Call.objects.create(call_sid="CA" + "6" * 32, caller_e164=CALLER,
                               to_e164="+33100000000", listing=own.listing,
                               professional=own.listing.professional)
    Voicemail.objects.filter(pk=vm.pk).update(call=call)
    RoutingDecision.objects.filter(voicemail=vm).update(moderation="pending")
    pro_a, pro_b = own.listing.professional.user, near.listing.professional.user
    credits.grant(near.listing.professional, 3, by=None)
    credits.unlock(near, pro_b)
    op = operator()

    def link(kind):
        return ("link", kind)

    def pro(kind):
        return ("professional", kind)

    def oper(kind):
        return ("operator", kind)

    def caller(kind):
        return ("caller", kind)

    walk = [
        # (who, url, expected new audit rows)
        (None, links.path(own), [link("caller_number.read"), link("transcript.read")]),
        (None, links.path(own) + "audio", [link("audio.read")]),
        (None, links.path(near), [link("redacted.read")]),
        (None, links.path(near) + "extract", [link("extract.read")]),
        (pro_a, reverse("routing:owner_media", args=[own.pk, "audio"]), [pro("audio.read")]),
        (pro_b, reverse("routing:owner_media", args=[near.pk, "extract"]),
         [pro("extract.read")]),
        (pro_a, reverse("space:call_log"), [pro("caller_number.read")]),
        (pro_a, reverse("space:message", args=[own.pk]),
         [pro("caller_number.read"), pro("transcript.read")]),
        (pro_b, reverse("space:message", args=[near.pk]),
         [pro("caller_number.read"), pro("redacted.read")]),
        ("caller", reverse("privacy:message"), [caller("transcript.read")]),
        ("caller", reverse("privacy:audio"), [caller("audio.read")]),
        (op, f"/admin/voicemail/voicemail/{vm.pk}/change/",
         [oper("caller_number.read"), oper("transcript.read")]),
        (op, reverse("admin:voicemail_media", args=[vm.pk, "audio"]), [oper("audio.read")]),
        (op, reverse("admin:voicemail_media", args=[vm.pk, "extract"]), [oper("extract.read")]),
        (op, f"/admin/calls/call/{call.pk}/change/", [oper("caller_number.read")]),
        (op, f"/admin/routing/moderationitem/{vm.routing.pk}/change/",
         [oper("redacted.read")]),
    ]
    verified = client.__class__()
    verified.post(reverse("privacy:start"), {"reference": vm.reference, "number": CALLER_FR})
    verified.post(reverse("privacy:code"), {"code": last_code(CALLER)})
    for who, url, expected in walk:
        c = verified if who == "caller" else client.__class__()
        if who not in (None, "caller"):
            c.force_login(who)
        before = last_id()
        response = c.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        got = new_rows(before)
        assert got == sorted(expected), url
        rows = AuditEvent.objects.filter(pk__gt=before)
        assert all(r.voicemail_id == vm.pk and r.voicemail_reference == vm.reference
                   for r in rows), url
        if who not in (None, "caller"):
            assert all(r.actor_user_id == who.pk for r in rows), url
