"""``relais simulate_sms``: the local phone texts a tracking number like a caller.

    relais simulate_sms --from +33639980001 --to +33199000001 --body "Fuite sous l'évier" \\
        [--url http://127.0.0.1:8000] [--json]

Posts the inbound SMS through the real webhook (``/telephony/twilio/sms``), signed as
Twilio Messaging signs it, and prints the reply Relais texted back, if any. In-process by
default (the reply also lands in the development outbox, as the provider would deliver
it); with ``--url`` over HTTP against a running Relais whose RELAIS_PUBLIC_URL is that URL
and which shares this TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN. See docs/telephony.md.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from relais.core import phones
from relais.demo.phone import InProcess, LocalPhone, OverHttp, PhoneError

MAX_BODY = 1600


class Command(BaseCommand):
    help = "Send an SMS to a tracking number through the inbound SMS webhook (local phone)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="caller", required=True, help="The caller's number.")
        parser.add_argument("--to", required=True, help="The tracking number written to.")
        parser.add_argument("--body", required=True, help="The text (at most 1600 characters).")
        parser.add_argument("--url", help="A running Relais (default: in this process).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **o):
        try:
            to = phones.to_e164(o["to"])
            caller = phones.to_e164(o["caller"])
        except phones.NumberError as exc:
            raise CommandError(str(exc)) from exc
        body = o["body"]
        if not body.strip():
            raise CommandError("--body is empty")
        if len(body) > MAX_BODY:
            raise CommandError(f"--body is longer than an SMS can be ({MAX_BODY} characters)")
        transport = OverHttp(o["url"]) if o["url"] else InProcess()
        try:
            result = LocalPhone(transport).text(to, caller, body)
        except PhoneError as exc:
            raise CommandError(str(exc)) from exc
        if o["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            self.stdout.write(f"SMS {result.message_sid}: {phones.format_fr(caller)} → "
                              f"{phones.format_fr(to)}")
            for reply in result.replies:
                self.stdout.write(f"Reply: « {reply} »")
            if not result.replies and not result.errors:
                self.stdout.write("No reply.")
        if result.errors:
            raise CommandError("; ".join(result.errors))
