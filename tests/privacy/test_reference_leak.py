"""The message reference never reaches a shared recipient.

With the caller's number (which a shared recipient may unlock), the reference opens the
caller's portal (/appelant/). Only the called professional, who heard the caller, and
the caller are shown it. A shared recipient fetches everything it can — its space, the
message page, the bleeped extract (space and signed link, whole and by range), the
unlock, the ledger, its call log, the "pas pour moi" and report actions — and reads the
emails it receives (instant and daily digest, every header and every part): the
reference appears nowhere, in no form (any case, any separator between its digits).
"""

import email
import email.policy
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from relais.credits import services as credits
from relais.routing import links, notifications
from relais.routing.models import Digest
from tests.factories import CALLER_FR

# Unlocking shows the number only where the operator enables it (RELAIS_REVEAL_NUMBERS).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reveal_numbers")]

# Characters people put between groups of digits: spaces (also no-break and narrow
# no-break), dots, dashes, slashes, underscores.
SEPARATOR = r"[\s.\-_/\u00a0\u202f]{0,3}"


def pattern(reference: str) -> re.Pattern:
    """The reference in any case, alone or with separators between its characters."""
    body = SEPARATOR.join(re.escape(ch) for ch in reference)
    return re.compile(rf"(?<![0-9A-Za-z]){body}(?![0-9A-Za-z])", re.IGNORECASE)


def response_texts(response) -> dict[str, str]:
    """Everything a response gives its reader: status, headers, cookies, body."""
    texts = {f"header {k}": f"{k}: {v}" for k, v in response.items()}
    texts["cookies"] = response.cookies.output()
    if hasattr(response, "streaming_content"):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    texts["body"] = content.decode("utf-8", errors="replace")
    texts["body (latin-1)"] = content.decode("latin-1")
    return texts


def email_texts(message) -> dict[str, str]:
    """Every header and every decoded part of a message as it goes on the wire."""
    raw = message.message().as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    texts = {"raw": raw.decode("latin-1")}
    for i, part in enumerate(parsed.walk()):
        for name, value in part.items():
            texts[f"part {i} header {name}"] = f"{name}: {value}"
        if not part.is_multipart():
            texts[f"part {i} content"] = str(part.get_content())
    return texts


def leaks(reference: str, texts: dict[str, str]) -> list[str]:
    found = pattern(reference)
    return [where for where, text in texts.items() if found.search(text)]


@pytest.fixture
def world(settings, shared_message):
    """The called plumber A (own), a neighbour B (instant email) and C (daily digest)."""
    settings.RELAIS_UNLOCK_CAP = 3
    settings.RELAIS_UNLOCK_COST = 1
    vm, own, (near, far) = shared_message
    for d in (own, near, far):
        d.refresh_from_db()
    assert (own.kind, near.kind, far.kind) == ("own", "shared", "shared")
    assert (near.channel, far.channel) == ("instant", "digest")
    return vm, own, near, far


def test_the_pattern_finds_the_reference_in_its_usual_forms():
    found = pattern("12345678")
    for text in ("ref 12345678.", "1234 5678", "12 34 56 78", "1234-5678", "1 2 3 4 5 6 7 8",
                 "message-12345678-extract.mp3", "1234\u202f5678"):
        assert found.search(text), text
    for text in ("123456789", "912345678", "1234567", "abc12345678"):
        assert not found.search(text), text


def test_a_shared_recipient_never_receives_the_reference(client, world):
    vm, _own, near, far = world
    reference = vm.reference
    pro_b = near.listing.professional
    credits.grant(pro_b, 2, by=None)
    client.force_login(pro_b.user)
    token = links.make_token(near)
    seen: dict[str, dict[str, str]] = {}

    def fetch(label, response, status=(200, 206, 302)):
        assert response.status_code in status, (label, response.status_code)
        seen[label] = response_texts(response)
        return response

    fetch("inbox", client.get("/pro/"))
    fetch("message page", client.get(f"/pro/messages/{near.pk}/"))
    extract = fetch("space extract", client.get(f"/r/message/{near.pk}/extract"))
    assert extract["Content-Disposition"]  # a file name is given, a neutral one
    fetch("space extract range", client.get(f"/r/message/{near.pk}/extract",
                                            HTTP_RANGE="bytes=0-99"))
    fetch("signed link", client.get(f"/r/{token}/"))
    fetch("signed link extract", client.get(f"/r/{token}/extract"))
    fetch("signed link extract range", client.get(f"/r/{token}/extract",
                                                  HTTP_RANGE="bytes=10-"))
    anonymous = Client()  # the link is a bearer credential: opened logged out too
    fetch("signed link, logged out", anonymous.get(f"/r/{token}/"))
    fetch("signed link extract, logged out", anonymous.get(f"/r/{token}/extract"))
    fetch("unlock POST", client.post(f"/pro/messages/{near.pk}/debloquer/"))
    unlocked = fetch("message page after unlock", client.get(f"/pro/messages/{near.pk}/"))
    assert CALLER_FR in unlocked.content.decode()  # B now holds the caller's number
    fetch("unlock POST again", client.post(f"/pro/messages/{near.pk}/debloquer/",
                                           follow=True))
    fetch("credits", client.get("/pro/credits/"))
    fetch("call log", client.get("/pro/appels/"))
    fetch("feedback", client.post(f"/pro/messages/{near.pk}/pas-pour-moi/",
                                  {"kind": "wrong_metier"}, follow=True))
    fetch("report", client.post(f"/pro/messages/{near.pk}/signaler/",
                                {"reason": "démarchage"}, follow=True))

    # The emails: B's instant notification, C's daily digest.
    mail.outbox.clear()
    assert notifications.send_delivery(near.pk) == "sent"
    now = timezone.localtime()
    cutoff = now.replace(hour=18, minute=0, second=0, microsecond=0)
    if now >= cutoff:
        cutoff += timedelta(days=1)
    assert notifications.send_due_digests(cutoff + timedelta(minutes=5)) == 1
    assert notifications.send_digest(Digest.objects.get(email=far.email).pk) == "sent"
    received = [m for m in mail.outbox if set(m.recipients()) & {near.email, far.email}]
    assert len(received) == 2
    for i, message in enumerate(received):
        seen[f"email {i} to {message.to}"] = email_texts(message)

    found = {label: where for label, texts in seen.items() if (where := leaks(reference,
                                                                                texts))}
    assert not found, f"the reference {reference} reaches the shared recipient: {found}"


def test_the_called_professional_still_sees_the_reference(client, world):
    vm, own, _near, _far = world
    reference = vm.reference
    client.force_login(own.listing.professional.user)
    assert reference in client.get(f"/pro/messages/{own.pk}/").content.decode()
    assert reference in client.get(links.path(own)).content.decode()
    audio = client.get(f"/r/message/{own.pk}/audio")
    assert reference in audio["Content-Disposition"]
    mail.outbox.clear()
    assert notifications.send_delivery(own.pk) == "sent"
    (message,) = mail.outbox
    assert message.to == [own.email]
    assert leaks(reference, email_texts(message))  # "Référence : …" in the email
