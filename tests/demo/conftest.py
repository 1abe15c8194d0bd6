"""The demo's tests reuse the calls tests' fixtures (a claimed listing, its tracking
number, a WAV message) and settings (the pipeline's fetch step only, counters cleared)."""

from tests.calls.conftest import _calls_settings, listing, phone, tracking, wav  # noqa: F401
