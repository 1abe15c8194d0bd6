"""``relais simulate_call``: the local phone — call a tracking number like a customer.

    relais simulate_call --to +33199000001 --from +33639980001 --audio message.wav \\
        [--answer|--no-answer|--busy] [--consent share|private|none] \\
        [--hangup-during-recording | --hangup-before-message] \
        [--url http://127.0.0.1:8000] [--json]

In-process by default (Django's full request stack, the real webhooks and signature
checks); with ``--url`` over HTTP against a running Relais whose RELAIS_PUBLIC_URL is that
URL and which shares this TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (the audio is uploaded
to its local provider). See docs/telephony.md.
"""

import mimetypes
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from relais.core import phones
from relais.demo.phone import InProcess, LocalPhone, OverHttp, PhoneError, result_json


class Command(BaseCommand):
    help = "Place a call through the telephony webhooks, playing the provider (local phone)."

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, help="The tracking number called.")
        parser.add_argument("--from", dest="caller", required=True,
                            help="The caller's number (or 'anonymous').")
        parser.add_argument("--audio", help="The message the caller leaves (WAV, MP3, OGG…).")
        outcome = parser.add_mutually_exclusive_group()
        outcome.add_argument("--answer", dest="outcome", action="store_const", const="answer")
        outcome.add_argument("--no-answer", dest="outcome", action="store_const",
                             const="no-answer")
        outcome.add_argument("--busy", dest="outcome", action="store_const", const="busy")
        parser.add_argument("--consent", choices=["share", "private", "none"], default="none",
                            help="Key pressed after the message: 1 (share), 2 (private), none.")
        hangup = parser.add_mutually_exclusive_group()
        hangup.add_argument("--hangup-during-recording", action="store_true")
        hangup.add_argument("--hangup-before-message", action="store_true",
                            help="The caller hangs up at the announcement, leaving no "
                                 "message (a French mobile then gets the invitation to "
                                 "write by SMS).")
        parser.add_argument("--recording-callback", choices=["early", "late"], default="early",
                            help="Send the recording-status callback before the record "
                                 "action (early) or after the call (late).")
        parser.add_argument("--url", help="A running Relais (default: in this process).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **o):
        outcome = o["outcome"] or "no-answer"
        try:
            to = phones.to_e164(o["to"])
            caller = o["caller"] if phones.is_withheld(o["caller"]) else phones.to_e164(
                o["caller"])
        except phones.NumberError as exc:
            raise CommandError(str(exc)) from exc
        audio, content_type, name = None, "audio/wav", "message.wav"
        if o["audio"]:
            path = Path(o["audio"])
            if not path.is_file():
                raise CommandError(f"no such audio file: {path}")
            audio = path.read_bytes()
            if not audio:
                raise CommandError(f"{path} is empty")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            name = path.name
        elif outcome != "answer" and not o["hangup_before_message"]:
            raise CommandError("--audio is needed unless the professional answers (--answer) "
                               "or the caller hangs up first (--hangup-before-message)")
        transport = OverHttp(o["url"]) if o["url"] else InProcess()
        try:
            result = LocalPhone(transport).call(
                to, caller, audio, content_type, name, answer=outcome, consent=o["consent"],
                hangup_during_recording=o["hangup_during_recording"],
                recording_callback=o["recording_callback"],
                hangup_before_message=o["hangup_before_message"],
            )
        except PhoneError as exc:
            raise CommandError(str(exc)) from exc
        if o["json"]:
            self.stdout.write(result_json(result))
            return
        self.stdout.write(f"Call {result.call_sid}: {phones.format_fr(caller) or caller} → "
                          f"{phones.format_fr(to)}")
        if result.dialed:
            self.stdout.write(f"  rang {phones.format_fr(result.dialed)}: {result.dial_status}")
        self.stdout.write("The caller heard:")
        for line in result.heard:
            self.stdout.write(f"  « {line} »")
        for error in result.errors:
            self.stderr.write(f"  error: {error}")
        if result.voicemail_reference:
            self.stdout.write(self.style.SUCCESS(
                f"Message left, reference {result.voicemail_reference}."))
        else:
            self.stdout.write("No message left.")
