"""Calls to numbers of the pool: forwarded to a claimed listing, straight to the voicemail
for an unclaimed one (shared only with consent), attributed by the time of the call."""

from datetime import timedelta

import pytest
from django.utils import timezone

from relais.calls.models import Call
from relais.directory import pool
from relais.directory.models import PoolBinding, PoolNumber
from relais.routing import services as routing
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import NANTES, offset
from tests.helpers import call_params
from tests.helpers import post_signed as post

pytestmark = pytest.mark.django_db

POOL = "+33900000001"
VISITOR = pool.visitor_key("a-visitor-cookie-token")


def call(client, sid: str, *, consent: str | None = None, to: str = POOL) -> str:
    """A call to ``to``: the voice webhook's TwiML; with ``consent``, the message too."""
    r = post(client, "/telephony/twilio/voice", call_params(CallSid=sid, To=to))
    assert r.status_code == 200
    body = r.content.decode()
    if consent is not None:
        r = post(client, "/telephony/twilio/record", call_params(
            CallSid=sid, To=to, RecordingSid="RE" + sid[2:], RecordingDuration="5"))
        assert r.status_code == 200 and "<Gather" in r.content.decode()
        body += r.content.decode()
        r = post(client, "/telephony/twilio/gather", call_params(
            CallSid=sid, To=to, Digits="1" if consent == "share" else "2"))
        assert r.status_code == 200
        body += r.content.decode()
    return body


def understood(vm: Voicemail) -> Voicemail:
    """As the pipeline leaves a plumbing request before routing."""
    from relais.directory.models import Metier

    Voicemail.objects.filter(pk=vm.pk).update(
        status=Voicemail.Status.PROCESSING, transcript=f.TRANSCRIPT, redacted_text=f.REDACTED,
        intent="quote_request", shareable=True, confidence=0.95, language="fr",
        metier=Metier.objects.get(slug="plombier"))
    return Voicemail.objects.get(pk=vm.pk)


@pytest.fixture
def numbers():
    pool.add_numbers([POOL])
    PoolNumber.objects.update(free_at=timezone.now() - timedelta(days=1))


def test_a_pool_number_bound_to_a_claimed_listing_rings_its_professional(client, numbers):
    listing = f.make_listing()
    pool.bind(listing.establishment_id, VISITOR)
    body = call(client, "CA" + "1" * 32)
    assert "<Dial " in body and f">{f.FORWARD}</Dial>" in body
    c = Call.objects.get()
    assert (c.listing_id, c.professional_id, c.establishment_siret, c.via_pool) == (
        listing.pk, listing.professional_id, listing.establishment_id, True)


def test_an_unbound_pool_number_is_refused(client, numbers):
    body = call(client, "CA" + "2" * 32)
    assert "<Hangup" in body and "<Record" not in body
    assert Call.objects.get().reason == "unknown_number"


def test_an_unclaimed_listing_takes_a_message_shared_only_with_consent(client, numbers):
    unclaimed = f.establishment(*NANTES, name="Plomberie Pas Inscrite")
    near = f.listing(*offset(*NANTES, 3), ["plombier"], email="proche@example.fr")
    f.listing(*offset(*NANTES, 4), ["electricien"], email="autre-metier@example.fr")
    f.listing(*offset(*NANTES, 5), ["plombier"], status="pending", email="pas-approuve@example.fr")
    pool.bind(unclaimed.siret, VISITOR)

    body = call(client, "CA" + "3" * 32, consent="share")
    assert "<Dial" not in body and "<Record " in body
    assert "pas encore inscrit sur Relais" in body  # the caller is told, then asked
    assert "ne sera transmise à personne" in body
    c = Call.objects.get()
    assert (c.listing_id, c.professional_id, c.establishment_siret, c.outcome) == (
        None, None, unclaimed.siret, "missed")
    vm = understood(Voicemail.objects.get(call=c))
    assert vm.listing_id is None and vm.consent == "share"
    routing.route_voicemail(vm)
    deliveries = Delivery.objects.filter(voicemail=vm)
    # no "own" delivery (nobody holds the listing); the claimed plumber nearby only
    assert [(d.kind, d.listing_id, d.status) for d in deliveries if d.status != "skipped"] == [
        ("shared", near.pk, "pending")]

    # the same call with the consent refused: the message reaches nobody
    body = call(client, "CA" + "4" * 32, consent="private")
    assert "ne sera transmis à personne" in body
    vm = understood(Voicemail.objects.get(call__call_sid="CA" + "4" * 32))
    routing.route_voicemail(vm)
    assert not Delivery.objects.filter(voicemail=vm).exclude(status="skipped").exists()
    assert vm.routing.outcome == "own_only"


def test_a_re_bound_number_reaches_the_listing_it_was_bound_to_at_the_time_of_the_call(
        client, numbers, settings):
    settings.RELAIS_POOL_BINDING_SECONDS = 1800
    settings.RELAIS_POOL_QUIET_SECONDS = 3600
    first = f.make_listing("11111111100011", forward="+33611111111", email="un@example.org")
    second = f.make_listing("22222222200022", forward="+33622222222", email="deux@example.org")
    past = timezone.now() - timedelta(hours=3)
    assert pool.bind(first.establishment_id, VISITOR, past) == POOL
    # a late call, past the binding but within the quiet period, reached the first
    assert pool.resolve(POOL, past + timedelta(minutes=45)) == first.establishment_id
    # after expiry + quiet period the number serves another listing
    assert pool.bind(second.establishment_id, VISITOR, past + timedelta(hours=2)) == POOL
    body = call(client, "CA" + "5" * 32)
    assert ">+33622222222</Dial>" in body
    assert Call.objects.get().listing_id == second.pk
    assert PoolBinding.objects.count() == 2


def test_a_number_is_either_dedicated_or_in_the_pool(numbers):
    from django.core.management import CommandError, call_command

    from relais.calls import numbers as tracking
    from relais.core.phones import NumberError

    with pytest.raises(NumberError):
        tracking.add_numbers([POOL])
    tracking.add_numbers(["+33159000009"])
    with pytest.raises(CommandError, match="dedicated tracking number"):
        call_command("number_pool", "add", "+33159000009")
    assert not pool.is_pool_number("+33159000009")


def test_a_refused_call_to_a_pool_number_does_not_hold_it(client, numbers, settings):
    """A blocked (or rate-limited) caller dialling pool numbers must not keep them held:
    only an accepted call extends the quiet period."""
    from relais.calls.models import BlockedCaller

    settings.RELAIS_POOL_BINDING_SECONDS = 1800
    settings.RELAIS_POOL_QUIET_SECONDS = 3600
    f.make_listing("11111111100011", forward="+33611111111", email="un@example.org")
    pool.bind("11111111100011", VISITOR, timezone.now() - timedelta(hours=1))
    number = PoolNumber.objects.get()
    binding = PoolBinding.objects.get()
    held = (number.free_at, binding.quiet_until)
    BlockedCaller.objects.create(e164=f.PHONE_CALLER, reason="spam")
    call(client, "CA" + "6" * 32)
    assert Call.objects.get().outcome == "rejected"
    number.refresh_from_db()
    binding.refresh_from_db()
    assert (number.free_at, binding.quiet_until) == held
    BlockedCaller.objects.all().delete()
    call(client, "CA" + "7" * 32)  # accepted: the quiet period runs from this call
    number.refresh_from_db()
    binding.refresh_from_db()
    assert number.free_at > held[0] and binding.quiet_until > held[1]
