"""What the call log tells the apps above it about a call's message.

``calls`` knows calls, not messages: the voicemail app connects receivers to these signals
(in its ``AppConfig.ready()``) and keeps its message up to date from them. Both are sent
inside the callback's transaction, with the call's row locked: a receiver's writes commit
or roll back with the callback's. Exceptions propagate (``Signal.send``): a receiver
raising :class:`relais.calls.services.Conflict` makes the webhook answer 409, and nothing
the callback did is kept.
"""

from django.dispatch import Signal

recording_ready = Signal()
"""The provider's recording-status callback, its parameters validated.

Sent with ``sender=Call`` and the keyword arguments ``call`` (the locked :class:`Call`),
``status`` (``completed``, ``absent``, ``failed`` or ``in-progress``), ``recording_sid``,
``url`` (empty or an allowed provider URL), ``duration`` (seconds or ``None``) and
``error_code`` (the provider's, digits or empty). A receiver returns a short word saying
what it did (for the log); :data:`STARTED` means the recording became the call's message,
and the call is then logged as ``voicemail``.
"""

STARTED = "started"

call_ended = Signal()
"""The call's final status callback (completed, busy, failed, no-answer, canceled).

Sent with ``sender=Call`` and the keyword arguments ``call`` (the locked :class:`Call`,
its ``ended_at`` set) and ``now`` (the time this callback settles things at).
"""
