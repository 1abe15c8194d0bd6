"""The number pool: binding, expiry, reuse after the quiet period, sizing, the page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from relais.directory import pool
from relais.directory.models import PoolBinding, PoolNumber
from tests import factories as f
from tests.factories import NANTES

pytestmark = pytest.mark.django_db

A, B = pool.visitor_key("visitor-a" * 2), pool.visitor_key("visitor-b" * 2)


@pytest.fixture
def two_numbers(settings):
    settings.RELAIS_POOL_BINDING_SECONDS = 1800
    settings.RELAIS_POOL_QUIET_SECONDS = 3600
    pool.add_numbers(["+33900000001", "+33900000002"])
    PoolNumber.objects.update(free_at=timezone.now() - timedelta(days=30))


def test_a_visitor_keeps_one_number_per_listing_and_others_get_other_numbers(two_numbers):
    now = timezone.now()
    first = pool.bind("11111111100011", A, now)
    assert first in {"+33900000001", "+33900000002"}
    # the same visitor on the same listing: the same number, the binding extended
    assert pool.bind("11111111100011", A, now + timedelta(minutes=20)) == first
    binding = PoolBinding.objects.get()
    assert binding.expires_at == now + timedelta(minutes=50)
    # another visitor, or another listing: the other number; then none is left
    second = pool.bind("11111111100011", B, now)
    assert second and second != first
    assert pool.bind("22222222200022", A, now) is None
    assert pool.resolve(first, now + timedelta(minutes=1)) == "11111111100011"
    assert pool.resolve("+33900000009", now) is None  # not a pool number


def test_a_number_is_reused_only_after_its_quiet_period(two_numbers):
    now = timezone.now()
    n1 = pool.bind("11111111100011", A, now)
    n2 = pool.bind("22222222200022", B, now)
    expiry = now + timedelta(minutes=30)
    # expired but quiet: still attributed to its listing, not given to anyone else
    assert pool.resolve(n1, expiry + timedelta(minutes=10)) == "11111111100011"
    assert pool.bind("33333333300033", A, expiry + timedelta(minutes=20)) is None
    # that call pushed n1's quiet period: n2 is free first
    free_at = expiry + timedelta(hours=1, seconds=1)
    assert pool.bind("33333333300033", A, free_at) == n2
    assert pool.bind("44444444400044", A, free_at) is None
    later = expiry + timedelta(minutes=10) + timedelta(hours=1, seconds=1)
    assert pool.bind("44444444400044", A, later) == n1
    # each call is attributed by its time
    assert pool.resolve(n1, expiry + timedelta(minutes=5)) == "11111111100011"
    assert pool.resolve(n1, later + timedelta(minutes=1)) == "44444444400044"
    assert pool.resolve(n2, free_at + timedelta(minutes=1)) == "33333333300033"


def test_pool_sizing_follows_littles_law(two_numbers):
    # 2,000 bindings an hour, each holding its number 30 min + 1 h: 3,000 numbers busy
    assert pool.numbers_needed(2000, 1800, 3600, headroom=1) == 3000
    assert pool.numbers_needed(2000) == 3750  # settings, 25 % headroom
    now = timezone.now()
    pool.bind("11111111100011", A, now)
    s = pool.status(now + timedelta(minutes=1))
    assert (s.size, s.free, s.bound, s.quiet, s.bindings_last_hour) == (2, 1, 1, 0, 1)
    s = pool.status(now + timedelta(minutes=40))
    assert (s.free, s.bound, s.quiet) == (1, 0, 1)


def test_old_bindings_are_purged(two_numbers, settings):
    settings.RELAIS_POOL_KEEP_DAYS = 7
    now = timezone.now()
    pool.bind("11111111100011", A, now - timedelta(days=9))
    pool.bind("22222222200022", A, now)
    assert pool.purge(now) == 1
    assert list(PoolBinding.objects.values_list("siret", flat=True)) == ["22222222200022"]


def test_the_listing_page_shows_a_pool_number_on_request(client, two_numbers, settings):
    settings.RELAIS_POOL_BINDINGS_PER_NETWORK_HOUR = 2
    from django.core.cache import cache

    cache.clear()
    est = f.establishment(*NANTES, name="Plomberie Sans Fiche")
    url = f"/etablissement/{est.siret}/"
    page = client.get(url).content.decode()
    assert "Afficher le numéro" in page and "+33900" not in page
    assert PoolBinding.objects.count() == 0  # reading the page binds nothing
    r = client.post(url)
    number = PoolBinding.objects.get().number.e164
    assert f'href="tel:{number}"' in r.content.decode()
    assert "pas encore inscrit" in r.content.decode()
    cookie = r.cookies[pool.COOKIE]
    assert cookie["httponly"] and PoolBinding.objects.get().visitor != cookie.value
    # the same visitor again: the same number, no second binding
    r = client.post(url)
    assert f'href="tel:{number}"' in r.content.decode()
    assert PoolBinding.objects.count() == 1
    # past the network's hourly limit: no number (the pool is not drained by one network)
    r = client.post(url)
    assert "Aucun numéro n'est disponible" in r.content.decode()
    assert PoolNumber.objects.filter(free_at__lte=timezone.now()).count() == 1
    cache.clear()


def test_the_number_pool_command_adds_numbers_and_reports_the_size_needed(two_numbers):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("number_pool", "add", "09 00 00 00 03", "+33900000001", stdout=out)
    assert "1 number(s) added" in out.getvalue()
    PoolNumber.objects.update(free_at=timezone.now() - timedelta(days=30))
    with pytest.raises(CommandError):
        call_command("number_pool", "add", "pas un numéro")
    now = timezone.now()
    for i in range(3):
        pool.bind(f"1111111110001{i}", A, now)
    out = StringIO()
    call_command("number_pool", "status", stdout=out)
    assert "3 numbers — 0 free, 3 bound, 0 quiet" in out.getvalue()
    assert "numbers needed at that rate: 6" in out.getvalue()  # 3/h × 1.5 h × 1.25
    assert "add 3 numbers" in out.getvalue()
