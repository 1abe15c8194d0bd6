"""With RELAIS_REVEAL_NUMBERS off (the default), a shared recipient who calls back
through Relais — the button in its space, the local provider playing both legs on the
embedded default — never reads the caller's number: not in a page, a header, a cookie,
a redirect or an e-mail, in any usual form."""

import email
import email.policy
import re

import pytest
from django.core import mail
from django.test import Client

from relais.callbacks.models import Callback
from relais.credits import services as credits
from relais.routing import links, notifications
from tests.factories import CALLER, CALLER_FR

pytestmark = pytest.mark.django_db

SEPARATOR = r"[\s.\-_/\u00a0\u202f]{0,3}"


def patterns(e164: str) -> list[re.Pattern]:
    """The number as E.164, national (0…) and bare, with any separators."""
    national = "0" + e164[3:]
    forms = [e164[1:], national, e164[3:]]
    return [re.compile(rf"(?<![0-9]){SEPARATOR.join(forms_i)}(?![0-9])")
            for forms_i in forms]


def response_texts(response) -> dict[str, str]:
    texts = {f"header {k}": f"{k}: {v}" for k, v in response.items()}
    texts["cookies"] = response.cookies.output()
    content = (b"".join(response.streaming_content) if hasattr(response, "streaming_content")
               else response.content)
    texts["body"] = content.decode("utf-8", errors="replace")
    for i, (url, status) in enumerate(getattr(response, "redirect_chain", [])):
        texts[f"redirect {i}"] = f"{status} {url}"
    return texts


def email_texts(message) -> dict[str, str]:
    raw = message.message().as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    texts = {"raw": raw.decode("latin-1")}
    for i, part in enumerate(parsed.walk()):
        if not part.is_multipart():
            texts[f"part {i} content"] = str(part.get_content())
    return texts


def leaks(texts: dict[str, str]) -> list[str]:
    return [where for where, text in texts.items()
            if any(p.search(text) for p in patterns(CALLER))]


def test_the_patterns_find_the_number_in_its_usual_forms():
    for text in (CALLER, CALLER_FR, "0612345678", "+33 6 12 34 56 78", "06.12.34.56.78",
                 "tel:+33612345678", "6 12 34 56 78"):
        assert leaks({"t": text}), text
    assert not leaks({"t": "+33612345679 0612345670"})


def test_a_call_back_never_shows_the_callers_number_to_the_recipient(client, routed,
                                                                      operator, settings):
    assert settings.RELAIS_REVEAL_NUMBERS is False  # the default
    _vm, own, shared = routed
    near = shared[0]
    pro = near.listing.professional
    credits.grant(pro, 5, by=operator)
    client.force_login(pro.user)
    token = links.make_token(near)
    seen: dict[str, dict[str, str]] = {}

    def fetch(label, response):
        assert response.status_code in (200, 206), (label, response.status_code)
        seen[label] = response_texts(response)
        return response

    page = fetch("message page", client.get(f"/pro/messages/{near.pk}/"))
    body = page.content.decode()
    assert "Rappeler via Relais" in body and "Pourquoi cette demande" in body
    assert "Débloquer le numéro" not in body
    after = fetch("call-back POST", client.post(f"/pro/messages/{near.pk}/rappeler/",
                                                follow=True))
    # The demo's local provider played both legs at once (pro and caller answer, 45 s).
    cb = Callback.objects.get(professional=pro)
    assert (cb.status, cb.bridge_seconds, cb.charged_credits) == ("completed", 45, 2)
    assert "mis en relation (45 s)" in after.content.decode()
    assert credits.balance(pro) == 3
    fetch("inbox", client.get("/pro/"))
    fetch("message page after", client.get(f"/pro/messages/{near.pk}/"))
    refused = fetch("unlock POST", client.post(f"/pro/messages/{near.pk}/debloquer/",
                                               follow=True))
    assert "ne sont pas communiqués" in refused.content.decode()
    ledger = fetch("credits", client.get("/pro/credits/"))
    assert "Rappel via Relais" in ledger.content.decode()
    fetch("call log", client.get("/pro/appels/"))
    fetch("signed link", client.get(f"/r/{token}/"))
    fetch("signed link, logged out", Client().get(f"/r/{token}/"))
    fetch("extract", client.get(f"/r/message/{near.pk}/extract"))
    mail.outbox.clear()
    assert notifications.send_delivery(near.pk) == "sent"
    (message,) = [m for m in mail.outbox if near.email in m.recipients()]
    seen["email"] = email_texts(message)
    found = {label: where for label, texts in seen.items() if (where := leaks(texts))}
    assert not found, f"the caller's number reaches the shared recipient: {found}"
    # The control: the called professional reads its own caller's number.
    client.force_login(own.listing.professional.user)
    assert leaks(response_texts(client.get(f"/pro/messages/{own.pk}/")))
