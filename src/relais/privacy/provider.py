"""The recording's copy at the telephony provider: deleted with Relais' own copy.

Twilio keeps a call's recording on its servers until it is deleted through its API;
the local phone keeps it under ``RELAIS_DATA_DIR/local-provider/recordings/``. Erasure
and the audio retention queue the provider's copy for deletion next to the stored files
(:class:`~relais.privacy.models.PendingFileDeletion` names ``<provider>-recording:RE…``:
``twilio-recording:RE…``, ``local-recording:RE…``), so a provider outage only delays it.

Which provider holds a recording, and how it deletes it, is the provider's business
(:mod:`relais.calls.providers`: ``holds_recording``, ``delete_recording``).
"""

import logging
from urllib.parse import urlsplit

from relais.calls import providers

logger = logging.getLogger(__name__)

SUFFIX = "-recording:"


def queue_name(voicemail) -> str | None:
    """The deletion-queue name of the voicemail's provider recording, if any."""
    sid, url = voicemail.recording_sid or "", voicemail.recording_url or ""
    if not sid:
        return None
    provider = providers.holding_recording(url)
    if provider is None:
        host = (urlsplit(url).hostname or "").lower()
        logger.warning("recording %s of an unknown provider (%s): not deleted there", sid, host)
        return None
    return provider.name + SUFFIX + sid


def _provider(name: str):
    kind, suffix, _sid = name.partition(SUFFIX)
    return providers.PROVIDERS.get(kind) if suffix else None


def delete(name: str) -> None:
    """Delete one queued provider recording; raises when the provider should be retried."""
    provider = _provider(name)
    if provider is None:
        raise ValueError(f"not a provider recording: {name!r}")
    provider.delete_recording(name.partition(SUFFIX)[2])


def is_provider_name(name: str) -> bool:
    return _provider(name) is not None
