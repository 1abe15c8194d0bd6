"""A listing that changes hands: its new holder never sees what its previous holder
received, and the previous holder loses access with the listing.

The rule (docs/privacy.md, "Change of hands"): a delivery or a call is readable only by
the professional it was made for, and only while that professional still holds the
listing with an approved claim. The flow goes through the real views: sign-up, e-mail
verification, claim, the operator's "Approuver" / "Refuser" admin actions, the space,
the call log, the owner media, the signed link.
"""

import html
import importlib
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from relais.calls import services as calls
from relais.calls.models import Call, TrackingNumber
from relais.credits import services as credits
from relais.pros import services as pros
from relais.pros.models import Listing, Professional
from relais.routing import links, notifications
from relais.routing import services as routing
from relais.routing.models import Delivery, Digest
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import NANTES, offset

# Unlocking shows the number only where the operator enables it (RELAIS_REVEAL_NUMBERS).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reveal_numbers")]

PASSWORD = "une-phrase-de-passe-solide"
TRACKING = "+33199000077"
# A's caller, in every form a page could show it.
A_CALLER = "+33612345678"
A_CALLER_FORMS = ("+33612345678", "06 12 34 56 78", "0612345678", "33612345678")
A_TRANSCRIPT = ("Bonjour, ici Nadia Bensaïd, j'ai une fuite sous l'évier de la cuisine, "
                "rappelez-moi au 06 12 34 56 78.")
A_REDACTED = "Bonjour, ici [nom], j'ai une fuite sous l'évier de la cuisine, rappelez-moi."
B_CALLER = "+33698765432"
B_CALLER_FORMS = ("+33698765432", "06 98 76 54 32")
B_TRANSCRIPT = "Bonjour, c'est Paul Ricard, mon chauffe-eau ne chauffe plus du tout."


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.RELAIS_PUBLIC_URL = "http://testserver"
    cache.clear()  # the calls' rate-limit counters
    yield
    cache.clear()


def text(response) -> str:
    return html.unescape(response.content.decode())


def sign_up_and_claim(client, mailoutbox, email: str, siret: str) -> Listing:
    """A professional signs up, confirms the address from the e-mail, logs in, claims by
    SIRET."""
    client.logout()
    response = client.post("/pro/inscription/", {"email": email, "password1": PASSWORD,
                                                 "password2": PASSWORD})
    assert response.status_code == 302
    sent = [m for m in mailoutbox if email in m.to][-1]
    url = re.search(r"https?://\S+/pro/verification/\S+/", sent.body).group(0)
    assert client.get(url[url.index("/pro/"):]).status_code == 302
    # Signing up never logs in (it cannot say whether the account is new).
    assert client.post("/pro/connexion/", {"username": email,
                                           "password": PASSWORD}).status_code == 302
    response = client.post("/pro/fiches/revendiquer/", {"siret": siret})
    assert response.status_code == 302, text(response)
    listing = Listing.objects.get(establishment_id=siret)
    assert listing.professional.user.email == email and listing.status == "pending"
    return listing


def operator(admin_client, action: str, listing: Listing) -> None:
    """The operator's admin action on one listing: "approve" or "reject"."""
    response = admin_client.post("/admin/pros/listing/", {"action": action,
                                                          "_selected_action": [listing.pk]})
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.status == {"approve": "approved", "reject": "rejected"}[action]


def set_forward_number(client, listing: Listing, email: str) -> None:
    response = client.post(f"/pro/fiches/{listing.pk}/", {
        "forward_number": "06 11 22 33 44", "metiers": ["plombier"],
        "service_radius_km": "30", "notification_email": email, "notify": "instant"})
    assert response.status_code == 302, text(response)


def message(listing: Listing, caller: str, transcript: str, redacted: str, sid: str,
            consent: str = "private") -> Delivery:
    """A missed call on the listing's tracking number and the message it left, routed.

    The call goes through the telephony services (logged in the call log); the message is
    made by the routing tests' factory, with a recording, and routed for real.
    """
    incoming = calls.incoming_call(sid, caller, TRACKING)
    assert incoming.decision.accept, incoming.decision
    calls.dial_finished(sid, "no-answer", None)
    vm = f.voicemail(listing, caller=caller, consent=consent)
    Voicemail.objects.filter(pk=vm.pk).update(call=Call.objects.get(call_sid=sid),
                                              transcript=transcript, redacted_text=redacted)
    routing.route_voicemail(vm)
    return Delivery.objects.select_related("voicemail").get(voicemail=vm, kind="own")


def no_trace(page: str, delivery: Delivery, forms=A_CALLER_FORMS, transcript=A_TRANSCRIPT,
             redacted=A_REDACTED) -> None:
    """Nothing of that message: its caller's number, its texts, reference or ids."""
    vm = delivery.voicemail
    for form in forms:
        assert form not in page, form
    assert transcript not in page and "Nadia" not in page
    assert redacted not in page and "fuite sous l'évier" not in page
    assert vm.reference not in page
    assert str(delivery.pk) not in page and str(vm.pk) not in page


def pages(client, delivery: Delivery) -> dict[str, object]:
    """Every page and file that could show this delivery, as the client sees them."""
    link = links.path(delivery)
    return {
        "inbox": client.get("/pro/"),
        "inbox_new": client.get("/pro/?filtre=nouveaux"),
        "message": client.get(f"/pro/messages/{delivery.pk}/"),
        "call_log": client.get("/pro/appels/"),
        "owner_audio": client.get(reverse("routing:owner_media", args=[delivery.pk, "audio"])),
        "owner_extract": client.get(reverse("routing:owner_media",
                                            args=[delivery.pk, "extract"])),
        "link": client.get(link),
        "link_audio": client.get(link + "audio"),
        "link_extract": client.get(link + "extract"),
    }


def assert_sees_nothing_of(client, delivery: Delivery, **kw) -> None:
    seen = pages(client, delivery)
    for name in ("message", "owner_audio", "owner_extract"):
        assert seen[name].status_code in (403, 404), (name, seen[name].status_code)
    for name in ("link", "link_audio", "link_extract"):
        assert seen[name].status_code in (403, 410), (name, seen[name].status_code)
    for name, response in seen.items():
        if response.get("Content-Type", "").startswith("text/html"):
            no_trace(text(response), delivery, **kw)
        else:
            assert not response.get("Content-Type", "").startswith("audio/"), name


@pytest.fixture
def handed_over(client, admin_client, mailoutbox):
    """Pro A claimed a plumber's listing, was approved, received a message (call log,
    recording), then the operator rejected A's claim and pro B claimed it (pending)."""
    establishment = f.establishment(*NANTES, name="Plomberie du Port")
    listing = sign_up_and_claim(client, mailoutbox, "ancien@example.org", establishment.siret)
    pro_a = listing.professional
    operator(admin_client, "approve", listing)
    set_forward_number(client, listing, "ancien@example.org")
    TrackingNumber.objects.create(e164=TRACKING, listing=listing)
    own = message(listing, A_CALLER, A_TRANSCRIPT, A_REDACTED, "CA" + "a" * 32)
    # A sees it all, the way B must not.
    seen = pages(client, own)
    assert f"/pro/messages/{own.pk}/" in text(seen["inbox"])
    assert A_TRANSCRIPT in text(seen["message"]) and A_CALLER_FORMS[1] in text(seen["message"])
    assert A_CALLER_FORMS[1] in text(seen["call_log"])
    assert seen["owner_audio"].status_code == 200 and seen["link"].status_code == 200
    assert A_TRANSCRIPT in text(seen["link"])

    operator(admin_client, "reject", listing)
    listing = sign_up_and_claim(client, mailoutbox, "nouveau@example.org",
                                establishment.siret)
    pro_b = listing.professional
    assert pro_b != pro_a and listing.status == "pending"
    return {"listing": listing, "own": own, "a": pro_a, "b": pro_b}


def test_the_new_holder_sees_nothing_of_the_previous_holder_s_callers_while_pending(
        client, handed_over):
    """Logged in as B (pending claim): inbox, message page, call log, owner media and A's
    signed link show nothing of A's caller."""
    assert client.session.get("_auth_user_id") == str(handed_over["b"].user_id)
    assert_sees_nothing_of(client, handed_over["own"])
    assert "Aucun appel" in text(client.get("/pro/appels/"))


def test_once_approved_the_new_holder_sees_only_what_came_after(client, admin_client,
                                                                 handed_over):
    listing, own = handed_over["listing"], handed_over["own"]
    operator(admin_client, "approve", listing)
    set_forward_number(client, listing, "nouveau@example.org")
    assert_sees_nothing_of(client, own)

    new = message(listing, B_CALLER, B_TRANSCRIPT, "Bonjour, c'est [nom], mon chauffe-eau.",
                  "CA" + "b" * 32)
    inbox = text(client.get("/pro/"))
    assert f"/pro/messages/{new.pk}/" in inbox and f"/pro/messages/{own.pk}/" not in inbox
    page = text(client.get(f"/pro/messages/{new.pk}/"))
    assert B_TRANSCRIPT in page and B_CALLER_FORMS[1] in page
    call_log = text(client.get("/pro/appels/"))
    assert B_CALLER_FORMS[1] in call_log
    for form in A_CALLER_FORMS:
        assert form not in call_log
    assert client.get(reverse("routing:owner_media", args=[new.pk, "audio"])).status_code == 200
    assert client.get(links.path(new)).status_code == 200
    # Still nothing of A's, everywhere, with B's own message next to it.
    assert_sees_nothing_of(client, own)


def test_the_previous_holder_loses_access_with_the_listing(client, admin_client, handed_over):
    own = handed_over["own"]
    link = links.path(own)
    client.force_login(handed_over["a"].user)
    assert_sees_nothing_of(client, own)
    client.logout()
    # The link emailed to A no longer opens, for anyone, and says nothing.
    for path in (link, link + "audio"):
        response = client.get(path)
        assert response.status_code in (403, 410)
        no_trace(text(response), own)
    # B approved: still nothing for A.
    operator(admin_client, "approve", handed_over["listing"])
    client.force_login(handed_over["a"].user)
    assert_sees_nothing_of(client, own)


def test_the_previous_holder_regains_access_only_if_approved_again(client, admin_client,
                                                                   handed_over):
    """B's claim rejected, the listing given back to A and approved: A's message is A's
    again; B, who held it meanwhile, never saw it."""
    listing, own, pro_a = handed_over["listing"], handed_over["own"], handed_over["a"]
    operator(admin_client, "reject", listing)
    client.force_login(pro_a.user)
    assert client.post("/pro/fiches/revendiquer/", {"siret": listing.establishment_id}
                       ).status_code == 302
    listing.refresh_from_db()
    assert (listing.professional, listing.status) == (pro_a, "pending")
    assert_sees_nothing_of(client, own)  # nothing before approval, even for A
    operator(admin_client, "approve", listing)
    assert A_TRANSCRIPT in text(client.get(f"/pro/messages/{own.pk}/"))
    assert client.get(links.path(own)).status_code == 200
    client.force_login(handed_over["b"].user)
    assert_sees_nothing_of(client, own)


def test_a_shared_recipient_s_listing_changing_hands(client, admin_client, mailoutbox):
    """C received a shared request (redacted) and unlocked its number; C's listing is
    rejected and claimed by D: D sees nothing of it, C no longer either."""
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr", name="Appelé")
    establishment = f.establishment(*offset(*NANTES, 4), name="Plomberie Voisine")
    c_listing = sign_up_and_claim(client, mailoutbox, "voisin-c@example.org",
                                  establishment.siret)
    operator(admin_client, "approve", c_listing)
    pro_c = c_listing.professional
    vm = f.voicemail(called, consent="share")
    Voicemail.objects.filter(pk=vm.pk).update(transcript=A_TRANSCRIPT, redacted_text=A_REDACTED)
    routing.route_voicemail(vm)
    shared = Delivery.objects.select_related("voicemail").get(voicemail=vm, listing=c_listing)
    assert shared.kind == "shared" and shared.accessible
    credits.grant(pro_c, 5, by=None)
    credits.unlock(shared, pro_c.user)
    page = text(client.get(f"/pro/messages/{shared.pk}/"))
    assert A_REDACTED in page and A_CALLER_FORMS[1] in page
    assert client.get(reverse("routing:owner_media", args=[shared.pk, "extract"])
                      ).status_code == 200
    link = links.path(shared)
    client.logout()

    operator(admin_client, "reject", c_listing)
    d_listing = sign_up_and_claim(client, mailoutbox, "voisin-d@example.org",
                                  establishment.siret)
    assert d_listing.pk == c_listing.pk
    assert_sees_nothing_of(client, shared)
    operator(admin_client, "approve", d_listing)
    assert_sees_nothing_of(client, shared)
    credits.grant(d_listing.professional, 5, by=None)
    with pytest.raises(credits.UnlockRefused) as refused:
        credits.unlock(shared, d_listing.professional.user)
    assert refused.value.code == "not_yours"

    client.force_login(pro_c.user)
    assert_sees_nothing_of(client, shared)
    client.logout()
    assert client.get(link).status_code in (403, 410)
    assert client.get(link + "extract").status_code in (403, 410)


def test_a_pending_email_is_not_sent_once_the_listing_left_its_professional(
        client, admin_client, mailoutbox):
    """Rejected before its notification went out: the e-mail is never sent, to nobody,
    and the delivery says why."""
    establishment = f.establishment(*NANTES, name="Plomberie Lente")
    listing = sign_up_and_claim(client, mailoutbox, "lent@example.org", establishment.siret)
    operator(admin_client, "approve", listing)
    vm = f.voicemail(listing, consent="private")
    routing.route_voicemail(vm)
    own = Delivery.objects.get(voicemail=vm)
    assert (own.status, own.email) == ("pending", "lent@example.org")
    operator(admin_client, "reject", listing)
    sign_up_and_claim(client, mailoutbox, "repreneur@example.org", establishment.siret)
    mailoutbox.clear()
    notifications.send_delivery(own.pk)
    assert mailoutbox == []
    own.refresh_from_db()
    assert own.status != "sent" and own.status_reason


def test_a_digest_leaves_out_deliveries_whose_listing_left_their_professional(
        admin_client, mailoutbox):
    """Grouped into the day's digest, then one listing is rejected and claimed by someone
    else before the digest goes out: the digest lists only what is still theirs."""
    pro = f.professional(email="resume@example.fr")
    kept = f.listing(*NANTES, ["plombier"], notify="digest", pro=pro, name="Gardée")
    lost = f.listing(*offset(*NANTES, 50), ["plombier"], notify="digest", pro=pro,
                     name="Perdue")
    vm_kept, vm_lost = f.voicemail(kept, consent="private"), f.voicemail(lost, consent="private")
    for vm in (vm_kept, vm_lost):
        routing.route_voicemail(vm)
    tomorrow = (timezone.localtime() + timedelta(days=1)).replace(hour=23)
    assert notifications.send_due_digests(tomorrow) == 1
    digest = Digest.objects.get()
    operator(admin_client, "reject", lost)
    pros.claim(f.professional(), lost.establishment_id)
    mailoutbox.clear()
    notifications.send_digest(digest.pk)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["resume@example.fr"]
    body = mailoutbox[0].body
    assert "Gardée" in body and "Perdue" not in body
    d_lost = Delivery.objects.get(voicemail=vm_lost)
    assert d_lost.status != "sent" and d_lost.status_reason
    assert Delivery.objects.get(voicemail=vm_kept).status == "sent"


def test_the_day_s_digest_does_not_gather_deliveries_whose_listing_left_them(
        admin_client, mailoutbox):
    pro = f.professional(email="resume@example.fr")
    lost = f.listing(*NANTES, ["plombier"], notify="digest", pro=pro, name="Perdue")
    vm = f.voicemail(lost, consent="private")
    routing.route_voicemail(vm)
    operator(admin_client, "reject", lost)
    tomorrow = (timezone.localtime() + timedelta(days=1)).replace(hour=23)
    assert notifications.send_due_digests(tomorrow) == 0
    assert not Digest.objects.exists() and mailoutbox == []
    delivery = Delivery.objects.get(voicemail=vm)
    assert (delivery.status, delivery.digest_id) == ("unnotified", None)
    assert "n'est plus détenue" in delivery.status_reason


def test_calls_and_deliveries_record_who_held_the_listing(handed_over):
    """Ownership at the time of the event: stored on the call and on the delivery."""
    own = handed_over["own"]
    assert own.professional_id == handed_over["a"].pk
    assert Call.objects.get(call_sid="CA" + "a" * 32).professional_id == handed_over["a"].pk
    # A call on the pending listing (refused: not claimed) belongs to nobody.
    calls.incoming_call("CA" + "c" * 32, B_CALLER, TRACKING)
    assert Call.objects.get(call_sid="CA" + "c" * 32).professional_id is None
    assert Professional.objects.count() == 2


def test_the_backfill_gives_existing_rows_only_to_the_holder_since_its_approval():
    """Migrations calls.0004 / routing.0004: rows from before the fields existed."""
    from django.apps import apps

    backfill_calls = importlib.import_module(
        "relais.calls.migrations.0004_backfill_call_professional").backfill
    backfill_deliveries = importlib.import_module(
        "relais.routing.migrations.0004_backfill_delivery_professional").backfill
    held = f.listing(*NANTES, ["plombier"])  # approved now, by the same holder throughout
    handed = f.listing(*offset(*NANTES, 10), ["plombier"])  # approved again, for B, today
    pending = f.listing(*offset(*NANTES, 20), ["plombier"], status="pending")
    legacy = f.listing(*offset(*NANTES, 30), ["plombier"])  # approved, no approval time
    Listing.objects.filter(pk=legacy.pk).update(approved_at=None)

    def old_rows(listing, n):
        vm = f.voicemail(listing, consent="private", audio=False)
        routing.route_voicemail(vm)
        call = Call.objects.create(call_sid=f"CA{n:032d}", to_e164=TRACKING, listing=listing)
        Delivery.objects.filter(voicemail=vm).update(professional=None)
        return Delivery.objects.get(voicemail=vm), call

    rows = {name: old_rows(listing, n) for n, (name, listing) in enumerate(
        [("held", held), ("handed", handed), ("pending", pending), ("legacy", legacy)])}
    # The "handed" rows came before its current approval (for a previous holder).
    Listing.objects.filter(pk=handed.pk).update(
        approved_at=timezone.now() + timedelta(minutes=1), professional=f.professional())
    backfill_calls(apps, None)
    backfill_deliveries(apps, None)
    got = {}
    for name, (delivery, call) in rows.items():
        delivery.refresh_from_db()
        call.refresh_from_db()
        got[name] = (delivery.professional_id, call.professional_id)
    assert got == {"held": (held.professional_id,) * 2, "handed": (None, None),
                   "pending": (None, None), "legacy": (legacy.professional_id,) * 2}
