"""The page behind a signed link, and the recordings it streams."""

import time

import pytest
from django.core import signing
from django.urls import reverse

from relais.core.models import AuditEvent
from relais.routing import links, services
from relais.routing.models import Delivery
from tests import factories as f
from tests.factories import CALLER, CALLER_FR, NANTES, REDACTED, TRANSCRIPT, offset

pytestmark = pytest.mark.django_db

PRIVATE = "private, no-store, max-age=0"


@pytest.fixture
def routed(settings):
    """A shared request: the called plumber's own delivery and a neighbour's."""
    settings.RELAIS_PUBLIC_URL = "http://testserver"
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr", name="Plomberie Appelée")
    f.listing(*offset(*NANTES, 7), ["plombier"], email="voisin@example.fr",
                      name="Plomberie Voisine")
    vm = f.voicemail(called)
    own, (shared,) = f.route(vm)
    return vm, own, shared


def page(client, delivery, **kw):
    return client.get(links.path(delivery, **kw))


def audit_actions(delivery):
    return sorted(AuditEvent.objects.filter(delivery_id=delivery.pk).values_list("action",
                                                                                 flat=True))


def test_the_own_link_shows_the_whole_message_and_marks_it_opened(client, routed):
    vm, own, _ = routed
    response = page(client, own)
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Cache-Control"] == PRIVATE
    assert CALLER_FR in html and f'href="tel:{CALLER}"' in html
    assert "Nadia Bensaïd" in html  # the full transcript (HTML-escaped apostrophes aside)
    assert reverse("routing:media", args=[links.make_token(own), "audio"])[:12] in html
    assert "<audio" in html and "/audio" in html
    own.refresh_from_db()
    assert own.first_opened_at is not None
    first = own.first_opened_at
    page(client, own)
    own.refresh_from_db()
    assert own.first_opened_at == first  # the first opening only
    assert audit_actions(own) == ["caller_number.read", "caller_number.read",
                                  "transcript.read", "transcript.read"]
    event = AuditEvent.objects.filter(delivery_id=own.pk).first()
    assert (event.actor_kind, event.actor_listing_id) == ("link", own.listing_id)
    assert event.voicemail_reference == vm.reference


def test_the_shared_link_never_shows_the_callers_number_or_raw_transcript(client, routed):
    _, _, shared = routed
    response = page(client, shared)
    html = response.content.decode()
    assert response.status_code == 200
    assert "[numéro]" in html and "fuite d&#x27;eau" in html
    for secret in (CALLER, CALLER_FR, CALLER_FR.replace(" ", ""), "612345678", "Bensaïd"):
        assert secret not in html
    assert '/extract"' in html and '/audio"' not in html
    assert audit_actions(shared) == ["redacted.read"]


def test_a_link_page_shows_that_one_message_and_no_other(client, routed):
    vm, own, _ = routed
    second = f.voicemail(own.listing, consent="private")
    second.transcript = "Un tout autre message, à propos d'une chaudière."
    second.save()
    services.route_voicemail(second)
    html = page(client, own).content.decode()
    assert vm.reference in html
    assert second.reference not in html and "chaudière" not in html
    assert html.count("<article") == 1


def test_an_expired_link_is_410_with_a_login_link_and_no_data(client, routed, settings):
    _, own, _ = routed
    old = time.time() - (settings.RELAIS_LINK_MAX_AGE_DAYS * 86400 + 60)
    response = page(client, own, issued_at=old)
    html = response.content.decode()
    assert response.status_code == 410
    assert "Lien expiré" in html and reverse("pros:login") in html
    assert TRANSCRIPT[:20] not in html and CALLER_FR not in html
    assert response["Cache-Control"] == PRIVATE
    # Just inside the limit still works.
    fresh = time.time() - (settings.RELAIS_LINK_MAX_AGE_DAYS * 86400 - 60)
    assert page(client, own, issued_at=fresh).status_code == 200
    assert AuditEvent.objects.filter(action="transcript.read").count() == 1  # the fresh one


def test_a_tampered_link_is_403(client, routed):
    _, own, _ = routed
    token = links.make_token(own)
    payload, rest = token.split(":", 1)
    forged = ("A" if payload[0] != "A" else "B") + payload[1:] + ":" + rest
    for bad in (forged, token[:-2] + ("xy" if token[-2:] != "xy" else "zz"), token[:40]):
        response = client.get(reverse("routing:delivery", args=[bad]))
        assert response.status_code == 403, bad
        assert "Lien invalide" in response.content.decode()
        assert CALLER_FR not in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_a_token_binding_a_delivery_to_another_recipient_is_refused(client, routed):
    _, own, shared = routed
    # A genuine signature over (own delivery, the neighbour's listing): never issued by
    # Relais, but shows the binding is checked, not just the signature.
    crossed = links._Signer(salt=links.SALT).sign_object([own.pk.hex, shared.listing_id])
    response = client.get(reverse("routing:delivery", args=[crossed]))
    assert response.status_code == 403
    assert CALLER_FR not in response.content.decode()
    # A token signed for another purpose (another salt) is not a delivery link.
    other = signing.dumps([own.pk.hex, own.listing_id], salt="something-else")
    assert client.get(reverse("routing:delivery", args=[other])).status_code == 403


def test_another_professional_logged_in_cannot_use_someone_elses_link(client, routed):
    _, own, shared = routed
    client.force_login(shared.listing.professional.user)
    response = page(client, own)
    assert response.status_code == 403
    assert CALLER_FR not in response.content.decode()
    assert page(client, shared).status_code == 200  # their own link works


def test_revoked_and_cancelled_deliveries_are_410(client, routed):
    vm, own, shared = routed
    link = links.path(shared)
    assert services.revoke_shared(vm, "retrait de l'appelant") == 1
    shared.refresh_from_db()
    assert shared.status == "cancelled"  # not notified yet: cancelled
    response = client.get(link)
    assert response.status_code == 410 and "Message retiré" in response.content.decode()
    assert "fuite" not in response.content.decode()
    assert client.get(reverse("routing:media", args=[links.make_token(shared), "extract"])
                      ).status_code == 410
    Delivery.objects.filter(pk=own.pk).update(status="sent")
    assert services.revoke_delivery(own) == "revoked"
    assert page(client, own).status_code == 410


def test_recordings_stream_only_with_the_right_and_private_headers(client, routed):
    vm, own, shared = routed
    token = links.make_token(own)
    response = client.get(reverse("routing:media", args=[token, "audio"]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == vm.audio.open("rb").read()
    assert response["Content-Type"] == "audio/x-wav"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Cache-Control"] == PRIVATE
    assert response["Accept-Ranges"] == "bytes"
    # Ranges, for seeking in the player.
    part = client.get(reverse("routing:media", args=[token, "audio"]), HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and len(part.content) == 100
    assert part["Content-Range"] == f"bytes 0-99/{vm.audio.size}"
    assert client.get(reverse("routing:media", args=[token, "audio"]),
                      HTTP_RANGE="bytes=999999-").status_code == 416
    # The shared recipient gets the bleeped extract only.
    shared_token = links.make_token(shared)
    assert client.get(reverse("routing:media", args=[shared_token, "audio"])).status_code == 404
    extract = client.get(reverse("routing:media", args=[shared_token, "extract"]))
    assert extract.status_code == 200
    assert b"".join(extract.streaming_content) == vm.extract.open("rb").read()
    # Every read is audited, ranges included (the 416 read nothing).
    assert audit_actions(own) == ["audio.read", "audio.read"]
    assert audit_actions(shared) == ["extract.read"]
    # Expired or tampered: no audio.
    old = links.make_token(own, issued_at=time.time() - 30 * 86400)
    assert client.get(reverse("routing:media", args=[old, "audio"])).status_code == 410
    assert client.get(reverse("routing:media", args=[token[:-3] + "abc", "audio"])
                      ).status_code == 403


def test_the_owner_logged_in_streams_from_the_inbox_and_nobody_else(client, routed):
    _, own, shared = routed
    url = reverse("routing:owner_media", args=[own.pk, "audio"])
    response = client.get(url)
    assert response.status_code == 302 and reverse("pros:login") in response["Location"]
    client.force_login(shared.listing.professional.user)
    assert client.get(url).status_code == 404  # someone else's message
    client.force_login(own.listing.professional.user)
    response = client.get(url)
    assert response.status_code == 200 and response["Cache-Control"] == PRIVATE
    event = AuditEvent.objects.get(delivery_id=own.pk, action="audio.read")
    assert (event.actor_kind, event.actor_user_id) == ("professional",
                                                       own.listing.professional.user_id)
    # The shared recipient, logged in, only gets the extract of its delivery.
    client.force_login(shared.listing.professional.user)
    assert client.get(reverse("routing:owner_media", args=[shared.pk, "audio"])).status_code == 404
    assert client.get(reverse("routing:owner_media", args=[shared.pk, "extract"])
                      ).status_code == 200


def test_the_redacted_text_in_the_page_is_the_redacted_one(client, routed):
    _, _, shared = routed
    assert REDACTED.split(",")[0] in page(client, shared).content.decode()
