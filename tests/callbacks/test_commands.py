"""``relais credits`` (grant, balances) and ``relais simulate_callback``."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from relais.credits import services as credits
from relais.credits.models import CreditEntry
from relais.routing import links

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_operator_grants_credits_and_lists_balances(routed):
    _vm, _own, shared = routed
    pro = shared[0].listing.professional
    email = pro.user.email or pro.user.username
    out = json.loads(run("credits", "--grant", "7", "--to", email.upper(), "--reason",
                         "geste commercial", "--json"))
    assert (out["granted"], out["balance"]) == (7, 7)
    entry = CreditEntry.objects.get(professional=pro)
    assert (entry.kind, entry.amount, entry.note) == ("grant", 7, "geste commercial")
    assert json.loads(run("credits", "--json")) == [{"email": email, "balance": 7}]
    assert "     7  " + email in run("credits", "--to", email)
    with pytest.raises(CommandError, match="no professional account"):
        run("credits", "--grant", "3", "--to", "nobody@example.org")
    with pytest.raises(CommandError, match="positive"):
        run("credits", "--grant", "0", "--to", email)
    assert credits.balance(pro) == 7


@pytest.mark.parametrize(("flags", "expected"), [
    (["--pro-answers", "--caller-answers", "--seconds", "45"], (True, "completed", 2)),
    (["--pro-answers", "--caller-answers", "--seconds", "5"], (True, "too_short", 0)),
    (["--pro-answers", "--caller-busy"], (False, "caller_busy", 0)),
    (["--pro-no-answer"], (False, "pro_no_answer", 0)),
])
def test_simulate_callback_plays_both_legs(routed, operator, flags, expected):
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=operator)
    out = json.loads(run("simulate_callback", "--link", links.url(d), *flags, "--json"))
    assert (out["connected"], out["status"], out["charged_credits"]) == expected
    assert out["errors"] == []
    assert out["pro_leg"] == {"to": d.listing.forward_number,
                              "caller_id": d.listing.tracking_number.e164}
    if expected[1] != "pro_no_answer":
        assert out["caller_leg"]["caller_id"] == d.listing.tracking_number.e164


def test_simulate_callback_refuses_a_bad_link_and_reports_a_refusal(routed):
    _vm, _own, shared = routed
    with pytest.raises(CommandError, match="not a valid signed link"):
        run("simulate_callback", "--link", "http://x/r/forged:token/", "--json")
    out = json.loads(run("simulate_callback", "--link", links.url(shared[0]), "--json"))
    assert out["connected"] is False and out["errors"][0].startswith("balance:")


@pytest.mark.django_db(transaction=True)
def test_simulate_callback_over_http_against_a_running_server(live_server, settings, routed):
    settings.RELAIS_PUBLIC_URL = live_server.url
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=None)
    out = json.loads(run("simulate_callback", "--link", links.url(d), "--pro-answers",
                         "--caller-answers", "--seconds", "40", "--url", live_server.url,
                         "--json"))
    assert (out["connected"], out["status"], out["charged_credits"]) == (True, "completed", 2)
    assert out["errors"] == [] and credits.balance(d.listing.professional) == 3
