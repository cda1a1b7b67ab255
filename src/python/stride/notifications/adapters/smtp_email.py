"""Email over SMTP (any provider's relay: SES, Postmark, Mailgun and others all speak it).

Each message is multipart/alternative (plain text and HTML) with `Content-Language` (and, for
marketing, RFC 8058's one-click `List-Unsubscribe` headers), sent over
STARTTLS whenever the server offers it. The standard library's client is blocking, so a send
runs in a worker thread. A 4xx answer or a connection problem means try again later; a 5xx
(mailbox unknown, message refused) is final.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from stride.notifications.domain.notifications import Email, SendOutcome

_log = logging.getLogger("stride.notifications.email")


class SmtpEmail:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str = "",
        password: str = "",
        starttls: bool = True,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._host, self._port, self._sender = host, port, sender
        self._username, self._password = username, password
        self._starttls, self._timeout = starttls, timeout_seconds

    async def send(self, email: Email) -> SendOutcome:
        return await asyncio.to_thread(self._send, email)

    def _send(self, email: Email) -> SendOutcome:
        try:
            with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
                smtp.ehlo()
                if self._starttls and smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self._username:
                    smtp.login(self._username, self._password)
                smtp.send_message(self._message(email))
        except smtplib.SMTPResponseException as error:
            _log.warning("SMTP answered %s", error.smtp_code)
            return SendOutcome.RETRY if 400 <= error.smtp_code < 500 else SendOutcome.REFUSED
        except smtplib.SMTPRecipientsRefused:
            return SendOutcome.REFUSED
        except (OSError, smtplib.SMTPException) as error:
            _log.warning("SMTP unreachable: %s", type(error).__name__)
            return SendOutcome.RETRY
        return SendOutcome.SENT

    def _message(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = make_msgid(idstring=str(email.id))
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        message["Content-Language"] = email.language  # After: set_content clears Content-*.
        if email.unsubscribe_url:  # Marketing: mail apps offer one-click unsubscribe (RFC 8058).
            message["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return message
