"""Sending one email through the SMTP server named by SMTP_URL.

smtp://host:25                  plain (a relay on the same machine or network)
smtp+starttls://user:pass@host:587   STARTTLS, then login
smtps://user:pass@host:465      TLS from the start
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Optional
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 15


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server; the message says why (never holds the body)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # plain, starttls, tls
    username: Optional[str] = None
    password: Optional[str] = None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        parts = urlsplit(url)
        schemes = {"smtp": ("plain", 25), "smtp+starttls": ("starttls", 587), "smtps": ("tls", 465)}
        if parts.scheme not in schemes or not parts.hostname:
            raise MailError(
                "SMTP_URL must look like smtp://host:25, smtp+starttls://user:pass@host:587 or "
                "smtps://user:pass@host:465"
            )
        security, default_port = schemes[parts.scheme]
        try:
            port = parts.port or default_port
        except ValueError:
            raise MailError("SMTP_URL has a port that is not a number") from None
        return cls(
            parts.hostname,
            port,
            security,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )

    def describe(self) -> str:
        return f"{self.security} {self.host}:{self.port}"


def send(server: SmtpServer, sender: str, recipient: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message.set_content(body)
    try:
        if server.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                server.host, server.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
        with client:
            if server.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if server.username:
                client.login(server.username, server.password or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__} from {server.describe()}: {str(exc)[:200]}") from exc
