"""Development outbox: an email backend that stores messages in the database."""

from django.core.mail.backends.base import BaseEmailBackend


class OutboxEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        from relais.core.models import OutboxMessage

        sent = 0
        for message in email_messages:
            html = ""
            for content, mimetype in getattr(message, "alternatives", []) or []:
                if mimetype == "text/html":
                    html = content
            for recipient in message.recipients():
                OutboxMessage.objects.create(
                    kind=OutboxMessage.Kind.EMAIL,
                    to=recipient,
                    subject=message.subject,
                    body=message.body,
                    html=html,
                )
            sent += 1
        return sent
