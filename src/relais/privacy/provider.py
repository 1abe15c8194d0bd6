"""The recording's copy at the telephony provider: deleted with Relais' own copy.

Twilio keeps a call's recording on its servers until it is deleted through its API;
the local phone keeps it under ``RELAIS_DATA_DIR/local-provider/recordings/``. Erasure
and the audio retention queue the provider's copy for deletion next to the stored files
(:class:`~relais.privacy.models.PendingFileDeletion` names ``twilio-recording:RE…`` and
``local-recording:RE…``), so a provider outage only delays it.

The local provider belongs to the demo app: it registers how its copies are deleted
(:func:`register_deleter`, from its ``AppConfig.ready()``).
"""

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

TWILIO = "twilio-recording:"
LOCAL = "local-recording:"

# Providers run by an installed app: queue-name prefix → delete(recording_sid).
_deleters: dict[str, Callable[[str], None]] = {}


def register_deleter(prefix: str, delete_recording: Callable[[str], None]) -> None:
    """Let an app holding provider recordings (the demo's local provider) delete them."""
    _deleters[prefix] = delete_recording


def queue_name(voicemail) -> str | None:
    """The deletion-queue name of the voicemail's provider recording, if any."""
    sid, url = voicemail.recording_sid or "", voicemail.recording_url or ""
    if not sid:
        return None
    host = (urlsplit(url).hostname or "").lower()
    if host == "twilio.com" or host.endswith(".twilio.com"):
        return TWILIO + sid
    if "/telephony/local/recordings/" in url:
        return LOCAL + sid
    logger.warning("recording %s of an unknown provider (%s): not deleted there", sid, host)
    return None


def twilio_client():
    from twilio.rest import Client

    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)


def delete(name: str) -> None:
    """Delete one queued provider recording; raises when the provider should be retried."""
    if name.startswith(LOCAL):
        deleter = _deleters.get(LOCAL)
        if deleter is None:  # the demo app is not installed: no local provider here
            logger.warning("%s: no local provider installed, not deleted there", name)
            return
        deleter(name[len(LOCAL):])
        return
    if name.startswith(TWILIO):
        from twilio.base.exceptions import TwilioRestException

        try:
            twilio_client().recordings(name[len(TWILIO):]).delete()
        except TwilioRestException as exc:
            if exc.status != 404:  # 404: already gone
                raise
        return
    raise ValueError(f"not a provider recording: {name!r}")


def is_provider_name(name: str) -> bool:
    return name.startswith((TWILIO, LOCAL))
