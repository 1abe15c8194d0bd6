"""``relais numbers``, the pool of tracking numbers and the demo listings' numbers."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relais.calls import numbers
from relais.calls.models import TrackingNumber
from relais.core import phones
from relais.demo.numbers import ensure_demo_numbers
from relais.pros.models import Listing
from tests.factories import make_listing


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
    with pytest.raises(phones.NumberError, match="not in the pool"):
        numbers.assign("+33199000002", listing)
    assert run("add", "+33199000002").startswith("added")  # back from the provider


@pytest.mark.django_db
def test_a_listing_s_forward_number_cannot_become_a_tracking_number(listing):
    """Calls to it would be forwarded to itself, in a loop (the settings page refuses
    the other way round: tests/pros/test_accounts.py)."""
    with pytest.raises(CommandError, match="forward number of listing 12345678900011"):
        run("add", "+33199000005", "06 39 98 99 99")  # listing's FORWARD, French format
    assert not TrackingNumber.objects.exists()  # all or nothing
    assert "1 added" in run("add", "+33199000005")


@pytest.mark.django_db
def test_assign_free_number_and_demo_numbers(listing):
    with pytest.raises(phones.NumberError, match="no free tracking number"):
        numbers.assign_free_number(listing)
    numbers.add_numbers(["+33199000010", "+33199000011"])
    first = numbers.assign_free_number(listing)
    assert first.e164 == "+33199000010"
    assert numbers.assign_free_number(listing) == first  # one number per listing

    others = [make_listing(siret=f"1000000000{i:04d}", email=f"p{i}@example.org")
              for i in range(3)]
    pending = make_listing(siret="20000000000001", status="pending", email="q@example.org")
    given = ensure_demo_numbers([listing, *others, pending])
    assert given[0] == first
    # The free pool number first, then new numbers from the fiction block.
    assert [n.e164 for n in given[1:]] == ["+33199000011", "+33199000001", "+33199000002"]
    assert all(numbers.is_fiction(n.e164) for n in given)
    assert not TrackingNumber.objects.filter(listing=pending).exists()
    assert ensure_demo_numbers(others) == given[1:]  # idempotent
    assert numbers.public_number(others[0]) == "+33199000011"
    assert phones.format_fr("+33199000011") == "01 99 00 00 11"
