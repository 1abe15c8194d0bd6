"""``relais numbers`` and ``relais simulate_call`` (the latter in a real subprocess)."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relais.calls import numbers
from relais.calls.models import TrackingNumber
from relais.pros.models import Listing
from relais.voicemail.models import PipelineStep, Voicemail
from tests.calls.conftest import CALLER, FETCH_ONLY, TRACKING, make_listing
from tests.helpers import relais, relais_env


def run(*args) -> str:
    out = StringIO()
    call_command("numbers", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_numbers_add_list_assign_release(listing):
    out = run("add", "+33199000001", "01 99 00 00 02", "+33199000001")
    assert "2 added, 1 already in the pool; 2 free." in out
    with pytest.raises(CommandError, match="not a phone number"):
        run("add", "+33199000003", "n'importe quoi")
    assert not TrackingNumber.objects.filter(e164="+33199000003").exists()  # all or nothing

    out = run("assign", "+33199000002", listing.establishment_id)
    assert "+33199000002 now rings Plomberie Martin" in out
    assert listing.tracking_number.e164 == "+33199000002"  # what pages and the API read
    with pytest.raises(CommandError, match="already has"):
        run("assign", "+33199000001", listing.establishment_id)
    pending = make_listing(siret="98765432100019", status="pending", email="b@example.org")
    with pytest.raises(CommandError, match="not claimed"):
        run("assign", "+33199000001", pending.establishment_id)
    with pytest.raises(CommandError, match="no claimed listing"):
        run("assign", "+33199000001", "11111111111111")

    out = run("list")
    assert "+33199000002   01 99 00 00 02   assigned  12345678900011 Plomberie Martin" in out
    assert "2 numbers: 1 free, 1 assigned, 0 released." in out
    assert run("list", "--free").splitlines()[0].startswith("+33199000001")

    run("release", "+33199000002")
    number = TrackingNumber.objects.get(e164="+33199000002")
    assert number.listing is None and number.released_at is not None
    listing.refresh_from_db()
    assert numbers.public_number(Listing.objects.get(pk=listing.pk)) is None
    with pytest.raises(numbers.NumberError, match="not in the pool"):
        numbers.assign("+33199000002", listing)
    assert run("add", "+33199000002").startswith("added")  # back from the provider


@pytest.mark.django_db
def test_assign_free_number_and_demo_numbers(listing):
    with pytest.raises(numbers.NumberError, match="no free tracking number"):
        numbers.assign_free_number(listing)
    numbers.add_numbers(["+33199000010", "+33199000011"])
    first = numbers.assign_free_number(listing)
    assert first.e164 == "+33199000010"
    assert numbers.assign_free_number(listing) == first  # one number per listing

    others = [make_listing(siret=f"1000000000{i:04d}", email=f"p{i}@example.org")
              for i in range(3)]
    pending = make_listing(siret="20000000000001", status="pending", email="q@example.org")
    given = numbers.ensure_demo_numbers([listing, *others, pending])
    assert given[0] == first
    # The free pool number first, then new numbers from the fiction block.
    assert [n.e164 for n in given[1:]] == ["+33199000011", "+33199000001", "+33199000002"]
    assert all(numbers.is_fiction(n.e164) for n in given)
    assert not TrackingNumber.objects.filter(listing=pending).exists()
    assert numbers.ensure_demo_numbers(others) == given[1:]  # idempotent
    assert numbers.public_number(others[0]) == "+33199000011"
    assert numbers.format_fr("+33199000011") == "01 99 00 00 11"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulate_call_cli_in_process_then_the_worker_downloads(live_server, settings,
                                                                tmp_path, wav):
    listing = make_listing()
    TrackingNumber.objects.create(e164=TRACKING, listing=listing)
    audio = tmp_path / "message.wav"
    audio.write_bytes(wav)
    env = relais_env(RELAIS_PUBLIC_URL=live_server.url,
                     RELAIS_TEST_PIPELINE_STEPS=json.dumps(FETCH_ONLY))
    done = relais("simulate_call", "--to", "01 99 00 00 01", "--from", CALLER, "--audio",
                  str(audio), "--no-answer", "--consent", "share", "--json", env=env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"call_sid", "voicemail_reference", "heard"} <= out.keys()
    assert out["call_sid"].startswith("CA") and len(out["call_sid"]) == 34
    vm = Voicemail.objects.get(reference=out["voicemail_reference"])
    assert vm.call.call_sid == out["call_sid"] and vm.consent == "share"
    assert any(out["voicemail_reference"][0] + ", " in line for line in out["heard"])
    # The process is gone; its recording is still downloadable from Relais.
    settings.RELAIS_PUBLIC_URL = live_server.url
    call_command("worker", batch=True, startup_delay=False, no_schedule=True, verbosity=0)
    vm.refresh_from_db()
    assert PipelineStep.objects.get(voicemail=vm).status == "done"
    assert vm.audio.read() == wav


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_simulate_call_cli_over_http(live_server, settings, tmp_path, wav):
    settings.RELAIS_PUBLIC_URL = live_server.url  # the running server's public URL
    listing = make_listing()
    TrackingNumber.objects.create(e164=TRACKING, listing=listing)
    audio = tmp_path / "message.wav"
    audio.write_bytes(wav)
    done = relais("simulate_call", "--to", TRACKING, "--from", CALLER, "--audio", str(audio),
                  "--busy", "--hangup-during-recording", "--url", live_server.url)
    assert done.returncode == 0, done.stderr
    assert "rang 06 39 98 99 99: busy" in done.stdout
    assert "No message left." in done.stdout  # hung up before hearing a reference
    vm = Voicemail.objects.get()
    assert vm.consent == "private" and vm.consent_recorded_at is not None
    assert vm.recording_url.startswith(live_server.url + "/telephony/local/recordings/RE")
    call_command("worker", batch=True, startup_delay=False, no_schedule=True, verbosity=0)
    vm.refresh_from_db()
    assert vm.audio.read() == wav  # uploaded to the server's local provider, then fetched


@pytest.mark.django_db
def test_simulate_call_rejects_bad_input(tmp_path):
    with pytest.raises(CommandError, match="--audio is needed"):
        call_command("simulate_call", "--to", TRACKING, "--from", CALLER)
    with pytest.raises(CommandError, match="no such audio file"):
        call_command("simulate_call", "--to", TRACKING, "--from", CALLER, "--audio",
                     str(tmp_path / "missing.wav"))
    with pytest.raises(CommandError, match="not a phone number"):
        call_command("simulate_call", "--to", "hello", "--from", CALLER, "--answer")
