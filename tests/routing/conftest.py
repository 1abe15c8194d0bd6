import email
import email.policy
import socket
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command

from relais.routing import steps
from relais.voicemail.pipeline import Step

# Also for worker subprocesses: RELAIS_TEST_PIPELINE=tests.routing.conftest.ROUTING_STEPS.
ROUTING_STEPS = [Step(steps.route, "default"), Step(steps.notify, "notifications")]


def drain():
    """Run every task that is ready (and what they enqueue), in this process."""
    call_command("worker", batch=True, startup_delay=False, no_schedule=True, verbosity=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """Messages received by the test SMTP server, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.on_data = None  # hook(envelope) -> None (accept) or an SMTP reply

    async def handle_DATA(self, server, session, envelope):
        if self.on_data is not None:
            reply = self.on_data(envelope)
            if reply:  # e.g. "451 4.3.0 try again later"
                return reply
        with self.lock:
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.messages.append(email.message_from_bytes(envelope.content,
                                                          policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str):
        return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def subject(message) -> str:
        # Python folds long encoded subjects after "Subject:"; decoding keeps a space.
        return str(message["Subject"]).strip()

    @staticmethod
    def text(message) -> str:
        return message.get_body(("plain",)).get_content()

    @staticmethod
    def html(message) -> str:
        return message.get_body(("html",)).get_content()

    def clear(self):
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()


class SMTPServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that a test can stop and restart."""

    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox
        self.port = free_port()
        self.controller = None

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
            time.sleep(0.05)


@pytest.fixture
def smtp(settings):
    """A running SMTP server; Django's smtp backend pointed at it."""
    server = SMTPServer(Mailbox())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def routing_steps(settings):
    settings.RELAIS_PIPELINE = ROUTING_STEPS
    settings.RELAIS_PUBLIC_URL = "http://testserver"
    return settings
