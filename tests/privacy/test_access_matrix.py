"""Who may open what: every URL that exposes a message, a recording, a transcript, a
caller's number or the credits ledger, for every kind of visitor, in one table.

Cells: an HTTP status, or SHOW (200 and the page shows THIS message: its reference, the
caller's number, its redacted text, its delivery ids or, for recordings, the file named
after it: after the reference for its called professional, after the delivery's random
id for a shared recipient's extract) or OTHER (200, but the visitor sees only their own
things: this message does not appear). Signed links are bearer credentials for one
delivery: anyone holding the link opens it unless logged in as another professional
(403). Operators are staff with view permissions on the models listed in
OPERATOR_PERMISSIONS.
"""

import time
import uuid

import pytest
from django.core import signing
from django.urls import reverse

from relais.calls.models import Call
from relais.core.models import AuditEvent
from relais.credits import services as credits
from relais.routing import links
from relais.routing import services as routing
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import CALLER, CALLER_FR, NANTES, offset
from tests.helpers import last_code

# Unlocking shows the number only where the operator enables it (RELAIS_REVEAL_NUMBERS).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reveal_numbers")]

SHOW, OTHER = "show", "other"
ROLES = ["anonymous", "caller", "other_caller", "pro_a", "pro_b", "pro_c", "operator",
         "superuser"]

# url key → expected cell per role, in ROLES order.
#                        anon   caller other  pro_a  pro_b  pro_c  oper   super
MATRIX = {
    "link_own":         (SHOW,  SHOW,  SHOW,  SHOW,  403,   403,   SHOW,  SHOW),
    "link_own_audio":   (SHOW,  SHOW,  SHOW,  SHOW,  403,   403,   SHOW,  SHOW),
    "link_shared":      (SHOW,  SHOW,  SHOW,  403,   SHOW,  403,   SHOW,  SHOW),
    "link_shared_extract": (SHOW, SHOW, SHOW, 403,   SHOW,  403,   SHOW,  SHOW),
    "link_shared_audio": (404,  404,   404,   403,   404,   403,   404,   404),
    "link_forged":      (403,   403,   403,   403,   403,   403,   403,   403),
    "link_expired":     (410,   410,   410,   410,   410,   410,   410,   410),
    "link_revoked":     (410,   410,   410,   403,   403,   403,   410,   410),
    "provider_recording": (401, 401,   401,   401,   401,   401,   401,   401),
    "owner_audio":      (302,   302,   302,   SHOW,  404,   404,   404,   404),
    "owner_extract_b":  (302,   302,   302,   404,   SHOW,  404,   404,   404),
    "owner_audio_b":    (302,   302,   302,   404,   404,   404,   404,   404),
    "pro_inbox":        (302,   302,   302,   SHOW,  SHOW,  OTHER, OTHER, OTHER),
    "pro_message_own":  (302,   302,   302,   SHOW,  404,   404,   404,   404),
    "pro_message_shared": (302, 302,   302,   404,   SHOW,  404,   404,   404),
    "pro_call_log":     (302,   302,   302,   SHOW,  OTHER, OTHER, OTHER, OTHER),
    "pro_credits":      (302,   302,   302,   OTHER, SHOW,  OTHER, OTHER, OTHER),
    "portal_message":   (302,   SHOW,  OTHER, 302,   302,   302,   302,   302),
    "portal_audio":     (302,   SHOW,  OTHER, 302,   302,   302,   302,   302),
    "admin_voicemails": (302,   302,   302,   302,   302,   302,   SHOW,  SHOW),
    "admin_voicemail":  (302,   302,   302,   302,   302,   302,   SHOW,  SHOW),
    "admin_voicemail_audio": (302, 302, 302,  302,   302,   302,   SHOW,  SHOW),
    "admin_deliveries": (302,   302,   302,   302,   302,   302,   SHOW,  SHOW),
    "admin_delivery":   (302,   302,   302,   302,   302,   302,   SHOW,  SHOW),
    "admin_audit":      (302,   302,   302,   302,   302,   302,   SHOW,  SHOW),
    "admin_audit_event": (302,  302,   302,   302,   302,   302,   SHOW,  SHOW),
    "admin_calls":      (302,   302,   302,   302,   302,   302,   200,   200),
    "admin_call":       (302,   302,   302,   302,   302,   302,   SHOW,  SHOW),
    "admin_ledger":     (302,   302,   302,   302,   302,   302,   SHOW,  SHOW),
    "admin_unlocks":    (302,   302,   302,   302,   302,   302,   SHOW,  SHOW),
    # The inbound SMS webhook: POST only, signed by the provider (unsigned: 403,
    # tests/texts); a written request's text becomes a message only through it.
    "sms_webhook":      (405,   405,   405,   405,   405,   405,   405,   405),
    # The operator's console: counts only (no personal data), staff only; anonymous →
    # the admin's login, a professional → 403. Its moderation pages show redacted text
    # and need the admin's permission on routing decisions (which "operator" lacks); an
    # already decided message sends the moderator back to the queue (tests/console).
    "console":          (302,   302,   302,   403,   403,   403,   200,   200),
    "console_export":   (302,   302,   302,   403,   403,   403,   200,   200),
    "console_moderation": (302, 302,   302,   403,   403,   403,   403,   200),
    "console_moderation_item": (302, 302, 302, 403,  403,   403,   403,   302),
}

OPERATOR_PERMISSIONS = ["view_voicemail", "view_delivery", "view_auditevent", "view_call",
                        "view_creditentry", "view_unlock"]


@pytest.fixture
def world(client, shared_message):
    vm, own, (near, far) = shared_message
    call = Call.objects.create(call_sid="CA" + "7" * 32, caller_e164=CALLER,
                               to_e164="+33100000000", listing=own.listing,
                               professional=own.listing.professional)
    Voicemail.objects.filter(pk=vm.pk).update(call=call)
    pro_a, pro_b = own.listing.professional, near.listing.professional
    credits.grant(pro_b, 3, by=None)
    unlock = credits.unlock(near, pro_b.user)
    unrelated = f.listing(*offset(*NANTES, 300), ["electricien"], email="c@example.fr",
                          name="Électricité Ailleurs")
    pro_c = unrelated.professional
    # Another caller's message, to the unrelated professional.
    other_vm = f.voicemail(unrelated, caller="+33698765432", consent="private")
    routing.route_voicemail(other_vm)
    operator = f.staff("operateur", OPERATOR_PERMISSIONS)
    superuser = f.superuser("admin", "x-motdepasse-42")
    event = AuditEvent.objects.filter(voicemail_id=vm.pk).first()

    clients = {role: client.__class__() for role in ROLES}
    for role, user in (("pro_a", pro_a.user), ("pro_b", pro_b.user), ("pro_c", pro_c.user),
                       ("operator", operator), ("superuser", superuser)):
        clients[role].force_login(user)
    for role, (message, number, e164) in (("caller", (vm, CALLER_FR, CALLER)),
                                          ("other_caller", (other_vm, "06 98 76 54 32",
                                                            "+33698765432"))):
        c = clients[role]
        c.post(reverse("privacy:start"), {"reference": message.reference, "number": number})
        c.post(reverse("privacy:code"), {"code": last_code(e164)})

    routing.revoke_delivery(far, "test")
    urls = {
        "link_own": links.path(own),
        "link_own_audio": links.path(own) + "audio",
        "link_shared": links.path(near),
        "link_shared_extract": links.path(near) + "extract",
        "link_shared_audio": links.path(near) + "audio",
        "link_forged": "/r/" + signing.dumps({"d": str(own.pk), "l": near.listing_id},
                                              salt="not-the-link-salt") + "/",
        "link_expired": links.path(own, issued_at=time.time() - 15 * 86400),
        "link_revoked": links.path(far),
        # The local phone's provider (demo only): its recordings need the account's Basic
        # auth, like Twilio's REST API; no session of any kind opens them.
        "provider_recording": reverse("demo:local_recording", args=["RE" + "a" * 32]),
        "owner_audio": reverse("routing:owner_media", args=[own.pk, "audio"]),
        "owner_extract_b": reverse("routing:owner_media", args=[near.pk, "extract"]),
        "owner_audio_b": reverse("routing:owner_media", args=[near.pk, "audio"]),
        "pro_inbox": reverse("space:inbox"),
        "pro_message_own": reverse("space:message", args=[own.pk]),
        "pro_message_shared": reverse("space:message", args=[near.pk]),
        "pro_call_log": reverse("space:call_log"),
        "pro_credits": reverse("space:credits"),
        "portal_message": reverse("privacy:message"),
        "portal_audio": reverse("privacy:audio"),
        "admin_voicemails": "/admin/voicemail/voicemail/",
        "admin_voicemail": f"/admin/voicemail/voicemail/{vm.pk}/change/",
        "admin_voicemail_audio": reverse("admin:voicemail_media", args=[vm.pk, "audio"]),
        "admin_deliveries": "/admin/routing/delivery/",
        "admin_delivery": f"/admin/routing/delivery/{own.pk}/change/",
        "admin_audit": "/admin/core/auditevent/",
        "admin_audit_event": f"/admin/core/auditevent/{event.pk}/change/",
        "admin_calls": "/admin/calls/call/",
        "admin_call": f"/admin/calls/call/{call.pk}/change/",
        "admin_ledger": "/admin/credits/creditentry/",
        "admin_unlocks": "/admin/credits/unlock/",
        "sms_webhook": reverse("texts:inbound"),
        "console": reverse("console:dashboard"),
        "console_export": reverse("console:export"),
        "console_moderation": reverse("console:moderation"),
        "console_moderation_item": reverse("console:moderation_item",
                                           args=[vm.routing.pk]),
    }
    markers = {key: vm.reference for key in urls}
    markers.update(
        pro_call_log=CALLER_FR, admin_call=CALLER, admin_calls=None,
        link_shared="évier",  # the redacted request: no reference, no number
        # Shared recipients never see the reference: their message page shows the
        # redacted request, their ledger the unlock of this delivery.
        pro_message_shared="évier",
        pro_credits=reverse("space:message", args=[near.pk]),
        # A shared recipient's extract is named after its delivery, never the reference.
        link_shared_extract=near.media_filename("extract", "wav"),
        owner_extract_b=near.media_filename("extract", "wav"),
        admin_ledger=f"Déblocage n° {unlock.pk}",
        pro_inbox=tuple(str(d.pk) for d in (own, near, far)),  # rows carry delivery ids
        console=None, console_export=None, console_moderation=None,
        console_moderation_item=None,
    )
    return vm, urls, markers, clients


def _cell(response, marker) -> object:
    if response.status_code != 200:
        return response.status_code
    if marker is None:
        return 200
    if hasattr(response, "streaming_content") or response.get("Content-Disposition"):
        body = response.get("Content-Disposition", "")
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    else:
        body = response.content.decode()
    found = any(m in body for m in marker) if isinstance(marker, tuple) else marker in body
    return SHOW if found else OTHER


def test_the_access_matrix(world):
    _vm, urls, markers, clients = world
    assert set(MATRIX) == set(urls)
    got, want = {}, {}
    for key, expected in MATRIX.items():
        for role, cell in zip(ROLES, expected, strict=True):
            response = clients[role].get(urls[key])
            got[(key, role)] = _cell(response, markers[key])
            want[(key, role)] = cell
    wrong = {k: (want[k], got[k]) for k in want if want[k] != got[k]}
    assert not wrong, "expected, got: " + "\n".join(f"{k}: {v}" for k, v in wrong.items())


def test_identifiers_in_urls_are_not_guessable(world):
    vm, urls, _markers, _clients = world
    assert isinstance(vm.pk, uuid.UUID) and vm.pk.version == 4
    for key in ("owner_audio", "owner_extract_b", "pro_message_own", "pro_message_shared"):
        assert uuid.UUID(urls[key].split("/")[3]).version == 4, key
    # The portal's URLs carry no identifier at all: the session holds the message.
    for key in ("portal_message", "portal_audio"):
        assert vm.reference not in urls[key] and str(vm.pk) not in urls[key]
    # Signed links: the delivery id inside is useless without the signature.
    token = urls["link_own"].split("/")[2]
    assert len(token) > 40 and ":" in token


# Every named URL outside the admin is either in the matrix above or listed here with
# the reason it exposes no message, recording, transcript, number or ledger by GET. A new
# URL fails this test until someone decides which.
MATRIX_URL_NAMES = {
    "routing:delivery", "routing:media", "routing:owner_media", "demo:local_recording",
    "space:inbox", "space:message", "space:call_log", "space:credits",
    "privacy:message", "privacy:audio", "texts:inbound",
    "console:dashboard", "console:export", "console:moderation", "console:moderation_item",
}
NOT_EXPOSING = {
    # Public directory: establishments (companies), no caller data.
    "directory:home", "directory:search", "directory:listing", "directory:api-establishment",
    "directory:api-search", "directory:api-openapi",
    # Accounts and listings of the professional themself.
    "pros:login", "pros:logout", "pros:signup", "pros:resend-verification", "pros:verify",
    "pros:password-reset", "pros:password-reset-done", "pros:password-reset-confirm",
    "pros:password-reset-complete",
    "pros:listings", "pros:claim", "pros:listing-settings",
    # POST actions on one's own delivery (refused with 404 otherwise: tests/space).
    "space:mark", "space:unlock", "space:feedback", "space:report",
    # Provider webhooks (signed by the provider) and the greeting prompts.
    "calls:voice", "calls:dial", "voicemail_webhooks:record", "voicemail_webhooks:gather",
    "calls:recording_status", "calls:status", "calls:prompt",
    # Portal forms and POST actions on the session's own message (tests/privacy).
    "privacy:start", "privacy:code", "privacy:withdraw", "privacy:erase", "privacy:leave",
    # Credits purchase and the payment provider's webhook (no message data).
    "credits:buy", "credits:stripe-webhook",
    # Call-backs: a POST action on one's own delivery, and the provider's signed webhooks.
    "space:callback", "callbacks:pro", "callbacks:pro_key", "callbacks:caller", "callbacks:key",
    "callbacks:dial",
    "callbacks:status",
}
# Demo pages show what the demo sends (emails, SMS codes): 404 unless RELAIS_DEMO.
DEMO_ONLY = {"demo:phone": "/demo/telephone/",
             "demo:outbox": "/demo/boite-d-envoi/"}


def _url_names():
    from django.urls import URLResolver, get_resolver

    def walk(patterns, ns=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                yield from walk(p.url_patterns, f"{ns}{p.namespace}:" if p.namespace else ns)
            else:
                yield ns + (p.name or str(p.pattern))

    return set(walk(get_resolver().url_patterns))


def test_every_url_is_classified():
    names = _url_names()
    classified = MATRIX_URL_NAMES | (NOT_EXPOSING & names) | set(DEMO_ONLY)
    assert names - classified == set(), "classify these URLs in the access matrix"
    assert MATRIX_URL_NAMES <= names


def test_demo_pages_do_not_exist_in_production(client, settings):
    settings.RELAIS_DEMO = False
    for url in DEMO_ONLY.values():
        assert client.get(url).status_code == 404, url


def test_every_admin_page_needs_a_staff_account(client, world):
    from django.contrib import admin

    _vm, _urls, _markers, clients = world
    for model in admin.site._registry:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for role in ("anonymous", "caller", "pro_a"):
            response = clients[role].get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], (
                url, role)
