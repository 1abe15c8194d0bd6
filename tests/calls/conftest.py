import io
import math
import struct
import wave

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from relais.calls.models import TrackingNumber
from relais.demo.phone import InProcess, LocalPhone
from relais.directory.models import Establishment
from relais.pros.models import Listing, Professional
from relais.voicemail import recordings
from relais.voicemail.pipeline import Step

# Also for worker subprocesses: RELAIS_TEST_PIPELINE=tests.calls.conftest.FETCH_ONLY.
FETCH_ONLY = [Step(recordings.fetch_step, "audio", name="fetch")]
CALLER = "+33639980001"
FORWARD = "+33639989999"
TRACKING = "+33199000001"


@pytest.fixture(autouse=True)
def _calls_settings(settings):
    # The later pipeline steps live on other branches: these tests run the fetch step.
    settings.RELAIS_PIPELINE = FETCH_ONLY
    cache.clear()  # rate-limit counters
    yield
    cache.clear()


def tone_wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
            for i in range(int(seconds * rate))
        )
        w.writeframes(frames)
    return buf.getvalue()


@pytest.fixture(scope="session")
def wav() -> bytes:
    return tone_wav(2.0)


def make_listing(siret="12345678900011", name="Plomberie Martin", status="approved",
                 forward=FORWARD, email="pro@example.org"):
    est = Establishment.objects.create(siret=siret, siren=siret[:9], name=name)
    user = get_user_model().objects.create_user(username=email, email=email, password="x-Pa55-word")
    pro = Professional.objects.create(user=user)
    return Listing.objects.create(establishment=est, professional=pro, status=status,
                                  forward_number=forward)


@pytest.fixture
def listing(db):
    return make_listing()


@pytest.fixture
def tracking(listing):
    return TrackingNumber.objects.create(e164=TRACKING, listing=listing)


@pytest.fixture
def phone(db):
    return LocalPhone(InProcess())
