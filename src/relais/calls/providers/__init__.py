"""Telephony providers behind one small interface (:class:`~.base.Provider`).

Each provider is a module of this package — :mod:`.twilio` (production) and
:mod:`.local` (the local phone, demo mode only) — registered in :data:`PROVIDERS`.

Selection: every *active* provider (:func:`active`: Twilio always, the local provider in
demo mode) is asked, in the order of :data:`PROVIDERS`.

- A webhook is accepted when an active provider validates its signature
  (:func:`webhook_is_valid`).
- A recording URL belongs to the first active provider allowing it
  (:func:`for_recording_url`); that provider says how to download it. Redirect hops are
  checked with :func:`recording_url_allowed` (any active provider).
- The provider's copy of a recording is deleted by the provider holding it
  (:func:`holding_recording`, any registered provider: a recording queued for deletion
  outlives a change of mode).
- System check ``relais.calls.E001`` lists the active providers' configuration errors.
- Outbound calls (call-backs through Relais) are placed by :func:`outbound`: the local
  provider in demo mode, Twilio otherwise.
"""

from . import local, twilio
from .base import CallFailed, OutboundCall, Provider, origin, public_url

__all__ = ["PROVIDERS", "CallFailed", "OutboundCall", "Provider", "active",
           "configuration_errors", "for_recording_url", "holding_recording", "origin",
           "outbound", "public_url", "recording_url_allowed", "webhook_is_valid"]

PROVIDERS: dict[str, Provider] = {p.name: p for p in (twilio.PROVIDER, local.PROVIDER)}


def active() -> tuple[Provider, ...]:
    """The providers in use in this configuration, in the order of :data:`PROVIDERS`."""
    return tuple(p for p in PROVIDERS.values() if p.enabled())


def webhook_is_valid(request) -> bool:
    return any(p.validate_webhook(request) for p in active())


def for_recording_url(url: str) -> Provider | None:
    """The active provider a recording may be fetched from at this URL, or None."""
    return next((p for p in active() if p.recording_url_allowed(url)), None)


def recording_url_allowed(url: str) -> bool:
    return for_recording_url(url) is not None


def holding_recording(url: str) -> Provider | None:
    """The provider keeping the recording at this URL (to delete it there), or None."""
    return next((p for p in PROVIDERS.values() if p.holds_recording(url)), None)


def configuration_errors() -> list[str]:
    return [problem for p in active() for problem in p.configuration_errors()]


def outbound() -> Provider:
    """The provider placing outbound calls (call-backs): the local one in demo mode."""
    return local.PROVIDER if local.PROVIDER.enabled() else twilio.PROVIDER
