"""A real SMTP server (aiosmtpd) in its own process, for the benchmarks.

    python benchmarks/_smtp_sink.py PORT

Accepts every message and prints one line per accepted message on stdout:
``<unix time> <number of recipients>``. The first line is ``ready``.
The parent process reads these lines to know when (and how many) emails were accepted.
"""

import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    async def handle_DATA(self, server, session, envelope):
        print(f"{time.time():.6f} {len(envelope.rcpt_tos)}", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    port = int(sys.argv[1])
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # runs until the parent closes our stdin (or kills us)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
