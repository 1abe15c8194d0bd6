"""``relais simulate_callback``: a professional calls a message's caller back through
Relais, the local provider playing both legs.

    relais simulate_callback --link SIGNED_LINK \\
        --pro-answers|--pro-no-answer|--pro-voicemail \\
        --caller-answers|--caller-no-answer|--caller-busy|--caller-refuses|--caller-voicemail \\
        --seconds N [--url http://127.0.0.1:8000] --json

The signed link (``/r/<token>/``, from the notification e-mail) names the delivery and
its professional: the call-back is started as if they had clicked "Rappeler via Relais"
(same checks), then the provider's requests are sent to the real webhooks — in this
process by default, or over HTTP to a running Relais (``--url``; it must share this
database and TWILIO_* credentials). Prints one JSON object with ``--json``: ``connected``,
``caller_leg`` {``to``, ``caller_id``}, ``pro_leg`` {``to``, ``caller_id``},
``charged_credits``, ``status``, ``errors``. An answering leg presses the key its
whisper asks for (1; 9 with ``--caller-refuses``); ``--pro-voicemail`` and
``--caller-voicemail`` are answering machines: they pick up and press nothing.
"""

import json
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from relais.callbacks import services as callbacks
from relais.callbacks.models import Callback
from relais.calls.providers import local
from relais.demo.callback_phone import play
from relais.demo.phone import InProcess, OverHttp, PhoneError
from relais.routing import links
from relais.routing.models import Delivery


def token_of(link: str) -> str:
    path = urlsplit(link.strip()).path if "/" in link else link.strip()
    parts = [p for p in path.split("/") if p]
    if "r" in parts and parts.index("r") + 1 < len(parts):
        return parts[parts.index("r") + 1]
    return parts[-1] if parts else ""


class Command(BaseCommand):
    help = "Call a message's caller back through Relais, playing the provider (both legs)."

    def add_arguments(self, parser):
        parser.add_argument("--link", required=True, help="The signed link of the delivery.")
        pro = parser.add_mutually_exclusive_group()
        pro.add_argument("--pro-answers", dest="pro", action="store_const", const="answers")
        pro.add_argument("--pro-no-answer", dest="pro", action="store_const",
                         const="no-answer")
        pro.add_argument("--pro-voicemail", dest="pro", action="store_const",
                         const="voicemail", help="An answering machine: picks up, no key.")
        caller = parser.add_mutually_exclusive_group()
        for outcome in ("answers", "no-answer", "busy", "refuses", "voicemail"):
            caller.add_argument(f"--caller-{outcome}", dest="caller", action="store_const",
                                const=outcome)
        parser.add_argument("--seconds", type=int, default=45,
                            help="Length of the conversation once bridged.")
        parser.add_argument("--url", help="A running Relais (default: in this process).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, **o):
        if o["seconds"] < 0:
            raise CommandError("--seconds must be 0 or more")
        try:
            delivery_id, listing_id = links.read(token_of(o["link"]))
        except links.LinkExpired as exc:
            raise CommandError("this link has expired") from exc
        except links.LinkInvalid as exc:
            raise CommandError("this is not a valid signed link") from exc
        delivery = (Delivery.objects.select_related("listing__establishment", "voicemail")
                    .filter(pk=delivery_id, listing_id=listing_id).first())
        if delivery is None or delivery.professional is None:
            raise CommandError("no such delivery, or nobody holds its listing")
        errors: list[str] = []
        result = None
        with local.manual_dialing():
            local.take_placed()
            try:
                cb = callbacks.start(delivery, delivery.professional.user)
            except callbacks.CallbackRefused as refused:
                cb = None
                errors.append(f"{refused.code}: {refused.message}")
            placed = local.take_placed()
        if cb is not None and placed:
            call, sid = placed[-1]
            transport = OverHttp(o["url"]) if o["url"] else InProcess()
            try:
                result = play(transport, call, sid, pro=o["pro"] or "answers",
                              caller=o["caller"] or "answers", seconds=o["seconds"])
            except PhoneError as exc:
                raise CommandError(str(exc)) from exc
            errors += result.errors
            cb = Callback.objects.get(pk=cb.pk)
        out = {
            "callback": str(cb.pk) if cb else None,
            "status": cb.status if cb else "refused",
            "connected": bool(result and result.connected),
            "seconds": result.seconds if result else 0,
            "pro_leg": result.pro_leg if result else {},
            "caller_leg": result.caller_leg if result else {},
            "charged_credits": cb.charged_credits if cb else 0,
            "pro_heard": result.pro_heard if result else [],
            "caller_heard": result.caller_heard if result else [],
            "errors": errors,
        }
        if o["json"]:
            self.stdout.write(json.dumps(out, ensure_ascii=False))
            return
        for key in ("status", "connected", "seconds", "pro_leg", "caller_leg",
                    "charged_credits"):
            self.stdout.write(f"{key}: {out[key]}")
        for error in errors:
            self.stderr.write(f"error: {error}")
