"""The professional's space: inbox, message pages, unlock, feedback, report, audit."""

import re

import pytest

from relais.core import audit
from relais.core.models import AuditEvent
from relais.credits import services as credits
from relais.credits.models import CreditEntry, Unlock
from relais.directory.models import Metier
from relais.routing import links, reads
from relais.routing import services as routing
from relais.routing.models import CallerReport, Delivery, Feedback
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import CALLER, CALLER_FR, NANTES, offset

# Unlocking shows the number only where the operator enables it (RELAIS_REVEAL_NUMBERS).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reveal_numbers")]


@pytest.fixture
def world(settings):
    """A called plumber A, a nearby plumber B; one shared request routed to both."""
    settings.RELAIS_UNLOCK_CAP = 3
    settings.RELAIS_UNLOCK_COST = 1
    a = f.listing(*NANTES, ["plombier"], name="Plomberie A")
    b = f.listing(*offset(*NANTES, 5), ["plombier"], name="Plomberie B")
    vm = f.voicemail(a)
    own, (shared,) = f.route(vm)
    assert (own.listing, shared.listing) == (a, b)
    return {"a": a, "b": b, "vm": vm, "own": own, "shared": shared}


def login(client, listing):
    client.force_login(listing.professional.user)
    return listing.professional.user


def body(response) -> str:
    return response.content.decode()


def events(delivery, action):
    return AuditEvent.objects.filter(delivery_id=delivery.pk, action=action)


def test_the_inbox_lists_own_and_shared_deliveries_only(client, world):
    other = f.listing(*offset(*NANTES, 0, 30), ["electricien"], name="Électricité C")
    f.voicemail(other, consent="private", metier="electricien")  # not routed to A or B
    login(client, world["b"])
    page = body(client.get("/pro/"))
    assert str(world["shared"].pk) in page
    assert str(world["own"].pk) not in page
    assert "Demande partagée" in page and "Plomberie B" in page
    # No personal data in the list: neither the text nor the number.
    assert "fuite" not in page and CALLER_FR not in page
    assert not AuditEvent.objects.exists()
    login(client, world["a"])
    page = body(client.get("/pro/"))
    assert str(world["own"].pk) in page and str(world["shared"].pk) not in page


def test_the_inbox_hides_withdrawn_and_filters_new_and_handled(client, world):
    a = world["a"]
    vm2 = f.voicemail(a, consent="private")
    routing.route_voicemail(vm2)
    own2 = Delivery.objects.get(voicemail=vm2)
    login(client, a)
    client.post(f"/pro/messages/{own2.pk}/traite/", {"handled": "1"})
    assert body(client.get("/pro/?filtre=traites")).count('class="delivery-row') == 1
    assert str(own2.pk) in body(client.get("/pro/?filtre=traites"))
    news = body(client.get("/pro/?filtre=nouveaux"))
    assert str(world["own"].pk) in news and str(own2.pk) not in news
    routing.revoke_delivery(world["own"], "test")
    assert str(world["own"].pk) not in body(client.get("/pro/"))
    assert client.get(f"/pro/messages/{world['own'].pk}/").status_code == 404


def test_the_inbox_is_paginated_newest_first(client, settings):
    a = f.listing(*NANTES, ["plombier"])
    ids = []
    for _ in range(23):
        vm = f.voicemail(a, consent="private", audio=False)
        routing.route_voicemail(vm)
        ids.append(str(Delivery.objects.get(voicemail=vm).pk))
    login(client, a)
    first, second = body(client.get("/pro/")), body(client.get("/pro/?page=2"))
    found = re.findall(r'data-delivery="([0-9a-f-]+)"', first)
    assert found == ids[::-1][:20]
    assert re.findall(r'data-delivery="([0-9a-f-]+)"', second) == ids[::-1][20:]
    assert "Page 1 sur 2" in first


def test_own_message_shows_everything_and_audits_each_read(client, world):
    own = world["own"]
    user = login(client, world["a"])
    response = client.get(f"/pro/messages/{own.pk}/")
    page = body(response)
    assert response.status_code == 200
    assert "Nadia Bensaïd" in page and CALLER_FR in page  # full transcript, number
    assert f'/r/message/{own.pk}/audio' in page
    assert "Débloquer" not in page
    assert response["Cache-Control"].startswith("private")
    for action in (audit.READ_TRANSCRIPT, audit.READ_CALLER_NUMBER):
        event = events(own, action).get()
        assert (event.actor_kind, event.actor_user_id, event.detail["via"]) == (
            "professional", user.pk, "space")
    own.refresh_from_db()
    assert own.first_opened_at is not None
    audio = client.get(f"/r/message/{own.pk}/audio")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/x-wav"
    assert b"".join(audio.streaming_content)[:4] == b"RIFF"
    assert events(own, audit.READ_AUDIO).count() == 1


def test_shared_request_shows_redacted_text_and_no_number(client, world, operator):
    shared = world["shared"]
    login(client, world["b"])
    page = body(client.get(f"/pro/messages/{shared.pk}/"))
    assert "[numéro]" in page and "Bensaïd" not in page and CALLER_FR not in page
    assert f"/r/message/{shared.pk}/extract" in page
    assert f"/r/message/{shared.pk}/audio" not in page
    assert "Débloquer le numéro" in page and "Votre solde : 0" in page
    assert "disabled" in page  # no credits
    assert events(shared, audit.READ_REDACTED).count() == 1
    assert not events(shared, audit.READ_TRANSCRIPT).exists()
    assert not events(shared, audit.READ_CALLER_NUMBER).exists()
    assert client.get(f"/r/message/{shared.pk}/audio").status_code == 404
    assert client.get(f"/r/message/{shared.pk}/extract").status_code == 200


def test_unlock_from_the_message_page(client, world, operator):
    shared = world["shared"]
    pro = world["b"].professional
    login(client, world["b"])
    assert "numéro débloqué" not in body(client.get("/pro/"))
    # Without credits: refused, clear message, nothing charged.
    page = body(client.post(f"/pro/messages/{shared.pk}/debloquer/", follow=True))
    assert "Crédits insuffisants" in page and CALLER_FR not in page
    assert not Unlock.objects.exists() and credits.balance(pro) == 0
    credits.grant(pro, 3, by=operator)
    page = body(client.post(f"/pro/messages/{shared.pk}/debloquer/", follow=True))
    assert "Numéro débloqué" in page and CALLER_FR in page
    assert credits.balance(pro) == 2
    item = Unlock.objects.get()
    assert item.shown_at is not None
    assert events(shared, audit.READ_CALLER_NUMBER).get().detail["via"] == "unlock"
    # Twice: nothing charged again.
    page = body(client.post(f"/pro/messages/{shared.pk}/debloquer/", follow=True))
    assert "déjà débloqué" in page and credits.balance(pro) == 2
    assert CreditEntry.objects.filter(kind="unlock").count() == 1
    assert "numéro débloqué" in body(client.get("/pro/"))
    # The ledger page shows the debit.
    ledger = body(client.get("/pro/credits/"))
    assert "Solde : <strong>2</strong> crédits" in ledger and "-1" in ledger and "+3" in ledger


def test_over_the_cap_the_button_is_gone_and_posting_is_refused(client, world, operator,
                                                               settings):
    settings.RELAIS_UNLOCK_CAP = 0
    shared = world["shared"]
    credits.grant(world["b"].professional, 3, by=operator)
    login(client, world["b"])
    page = body(client.get(f"/pro/messages/{shared.pk}/"))
    assert "nombre maximal de déblocages est atteint" in page
    page = body(client.post(f"/pro/messages/{shared.pk}/debloquer/", follow=True))
    assert "le maximum autorisé" in page and "Rien ne vous a été débité" in page
    assert credits.balance(world["b"].professional) == 3


def test_a_professional_cannot_open_anothers_message_nor_its_media(client, world):
    c = f.listing(*offset(*NANTES, 60), ["plombier"], name="Plomberie C")
    login(client, c)
    for d in (world["own"], world["shared"]):
        assert client.get(f"/pro/messages/{d.pk}/").status_code == 404
        for which in ("audio", "extract"):
            assert client.get(f"/r/message/{d.pk}/{which}").status_code == 404
        for action in ("traite", "debloquer", "pas-pour-moi", "signaler"):
            assert client.post(f"/pro/messages/{d.pk}/{action}/",
                               {"handled": "1", "kind": "not_a_request"}).status_code == 404
    # B cannot open A's own message either, though it got the same voicemail shared.
    login(client, world["b"])
    assert client.get(f"/pro/messages/{world['own'].pk}/").status_code == 404
    assert client.get(f"/r/message/{world['own'].pk}/audio").status_code == 404
    assert not AuditEvent.objects.exclude(action=audit.READ_REDACTED).exists()
    assert Feedback.objects.count() == 0 and CallerReport.objects.count() == 0
    # Anonymous visitors are sent to the login page.
    client.logout()
    response = client.get(f"/pro/messages/{world['own'].pk}/")
    assert response.status_code == 302 and "/pro/connexion/" in response["Location"]


def test_erased_messages_are_gone_from_the_space(client, world):
    Voicemail.objects.filter(pk=world["vm"].pk).update(status=Voicemail.Status.ERASED)
    login(client, world["a"])
    assert client.get(f"/pro/messages/{world['own'].pk}/").status_code == 404
    assert str(world["own"].pk) not in body(client.get("/pro/"))


def test_mark_handled_and_back(client, world):
    own = world["own"]
    login(client, world["a"])
    client.post(f"/pro/messages/{own.pk}/traite/", {"handled": "1"})
    own.refresh_from_db()
    assert own.handled_at is not None
    assert "Remettre en nouveau" in body(client.get(f"/pro/messages/{own.pk}/"))
    client.post(f"/pro/messages/{own.pk}/traite/", {"handled": "0"})
    own.refresh_from_db()
    assert own.handled_at is None
    assert client.get(f"/pro/messages/{own.pk}/traite/").status_code == 405


def test_pas_pour_moi_records_feedback(client, world):
    shared = world["shared"]
    login(client, world["b"])
    page = body(client.post(f"/pro/messages/{shared.pk}/pas-pour-moi/", {
        "kind": "wrong_metier", "suggested_metier": "chauffagiste",
        "comment": "C'est une chaudière"}, follow=True))
    assert "Merci" in page and "Votre retour est enregistré" in page
    fb = Feedback.objects.get()
    assert (fb.delivery, fb.kind, fb.suggested_metier, fb.comment, fb.predicted_metier) == (
        shared, "wrong_metier", Metier.objects.get(slug="chauffagiste"), "C'est une chaudière",
        "plombier")
    page = body(client.post(f"/pro/messages/{shared.pk}/pas-pour-moi/", {"kind": "spam"},
                            follow=True))
    assert "Choisissez pourquoi" in page and Feedback.objects.count() == 1
    client.post(f"/pro/messages/{shared.pk}/pas-pour-moi/",
                {"kind": "not_a_request", "suggested_metier": "chauffagiste"})
    nar = Feedback.objects.get(kind="not_a_request")
    assert nar.suggested_metier is None


def test_report_caller_stops_their_next_shared_requests(client, world):
    shared = world["shared"]
    login(client, world["b"])
    page = body(client.post(f"/pro/messages/{shared.pk}/signaler/", {"reason": "démarchage"},
                            follow=True))
    assert "Appelant signalé" in page and CALLER_FR not in page
    report = CallerReport.objects.get()
    assert report.professional == world["b"].professional
    assert report.caller_hash == routing.caller_hash(CALLER) and report.reason == "démarchage"
    vm2 = f.voicemail(world["a"])
    routing.route_voicemail(vm2)
    assert not Delivery.objects.filter(voicemail=vm2, listing=world["b"],
                                       status__in=Delivery.ACCESSIBLE).exists()


def test_the_call_log_audits_the_numbers_it_shows(client, world):
    from relais.calls.models import Call

    a = world["a"]
    call = Call.objects.create(listing=a, professional=a.professional, caller_e164=CALLER,
                               call_sid="CA" + "1" * 32, to_e164="+33999999999")
    Call.objects.create(listing=a, professional=a.professional, caller_e164="",
                        call_sid="CA" + "2" * 32, to_e164="+33999999999")
    user = login(client, a)
    page = body(client.get("/pro/appels/"))
    assert CALLER_FR in page
    event = AuditEvent.objects.get(action=audit.READ_CALLER_NUMBER)
    assert (event.actor_user_id, event.detail) == (user.pk, {"via": "call_log", "call": call.pk})


def test_the_signed_link_page_offers_the_space_to_its_logged_in_owner(client, world):
    from relais.routing import links

    own = world["own"]
    url = links.path(own)
    assert "Ouvrir ce message dans mon espace" not in body(client.get(url))
    login(client, world["a"])
    page = body(client.get(url))
    assert f'href="/pro/messages/{own.pk}/"' in page


def test_the_inbox_costs_the_same_queries_for_3_or_20_rows(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    a = f.listing(*NANTES, ["plombier"])
    login(client, a)

    def add(n):
        for _ in range(n):
            vm = f.voicemail(a, consent="private", audio=False)
            routing.route_voicemail(vm)

    add(3)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/pro/").status_code == 200
    add(17)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/pro/").status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many]


def test_an_account_without_professional_profile_sees_nothing(client, world, operator):
    client.force_login(operator)
    assert "pas un compte professionnel" in body(client.get("/pro/"))
    assert client.get("/pro/credits/").status_code == 200
    assert client.get(f"/pro/messages/{world['own'].pk}/").status_code == 404
    assert client.get(f"/r/message/{world['own'].pk}/audio").status_code == 404
    assert not AuditEvent.objects.exists()


def test_shared_recipients_never_see_the_message_reference(client, world, operator):
    """The reference plus the caller's number open the caller's portal: only the called
    professional, who heard the caller, is shown it (page and email)."""
    from relais.routing import notifications

    reference = world["vm"].reference
    credits.grant(world["b"].professional, 1, by=operator)
    login(client, world["b"])
    page = body(client.post(f"/pro/messages/{world['shared'].pk}/debloquer/", follow=True))
    assert CALLER_FR in page and reference not in page
    assert reference not in body(client.get("/pro/credits/"))
    assert reference not in body(client.get("/pro/"))
    shared_email = notifications.build_delivery_email(world["shared"])
    assert reference not in shared_email.body
    assert reference not in shared_email.alternatives[0][0]
    assert reference not in shared_email.subject
    own_email = notifications.build_delivery_email(world["own"])
    assert reference in own_email.body
    login(client, world["a"])
    assert reference in body(client.get(f"/pro/messages/{world['own'].pk}/"))


@pytest.mark.parametrize("kind", ["own", "shared"])
def test_the_space_page_and_the_signed_link_read_a_delivery_through_one_function(
        client, world, kind, monkeypatch):
    """The message page and the signed-link page both read through
    relais.routing.reads.read_delivery: the same audit actions for the same delivery,
    only the actor and the way in (detail.via) differ."""
    delivery = world[kind]
    calls = []
    real = reads.read_delivery

    def spy(d, actor, via):
        calls.append((d.pk, actor.kind, via))
        return real(d, actor, via)

    monkeypatch.setattr(reads, "read_delivery", spy)

    def rows_of(response):
        assert response.status_code == 200
        new = AuditEvent.objects.filter(pk__gt=before).order_by("action")
        return [(e.action, e.delivery_id, e.voicemail_id) for e in new], {
            (e.actor_kind, e.detail["via"]) for e in new}

    login(client, world["a" if kind == "own" else "b"])
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    space, space_ways = rows_of(client.get(f"/pro/messages/{delivery.pk}/"))
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    link, link_ways = rows_of(client.__class__().get(links.path(delivery)))
    expected = (["caller_number.read", "transcript.read"] if kind == "own"
                else ["redacted.read"])
    assert [action for action, _d, _v in space] == expected
    assert space == link
    assert space_ways == {("professional", "space")}
    assert link_ways == {("link", "link")}
    assert calls == [(delivery.pk, "professional", "space"), (delivery.pk, "link", "link")]
