import pytest


@pytest.fixture(autouse=True)
def _texts_settings(calls_settings):
    """Calls run the fetch step only (voice messages); tests of written requests set the
    project's whole pipeline themselves. Fresh rate-limit counters."""
