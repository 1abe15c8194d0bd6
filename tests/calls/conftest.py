import pytest


@pytest.fixture(autouse=True)
def _calls_settings(calls_settings):
    """Every telephony test runs the fetch step only, with fresh rate-limit counters."""
