import pytest


@pytest.fixture(autouse=True)
def _calls_settings(calls_settings):
    """The demo's tests run as the telephony tests do: the fetch step only, fresh
    rate-limit counters."""
