"""Email to customers who left an address: plain-text messages over SMTP (aiosmtplib), one connection per message.

Owns `EmailConfig` (the `FD_NOTIFY_SMTP_*` variables, composed into the front door's settings as `Settings.notify`;
no host means email is off) and `EmailSender`. Email is one-way here: a ticket's news goes out by mail besides the
chat, and the customer answers in the chat. Must never log an address's password, and never retry a send itself
(the caller records each attempt).
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
from pydantic import Field, model_validator

from backends.settings import EnvSettings

# Deliberately loose: a customer's typed contact is an address if it has one @ and a dot after it.
EMAIL_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def email_address(value: str | None) -> str | None:
    """`value` stripped, if it reads as an email address; None otherwise (a phone number, a name)."""
    candidate = (value or "").strip()
    return candidate if EMAIL_ADDRESS.match(candidate) else None


class EmailConfig(EnvSettings):
    """The `FD_NOTIFY_SMTP_*` variables: the SMTP server customer email goes through."""

    model_config = EnvSettings.config("FD_NOTIFY_")
    doc_title = "Customer email (`bot/channels/email.py`)"

    smtp_host: str = Field(
        "",
        description="SMTP server for email to customers who left an address (ticket news besides the chat).",
        json_schema_extra={"doc_default": "(empty: no email)"},
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 with STARTTLS, 465 with implicit TLS).")
    smtp_from: str = Field("", description="Sender address (`Help <help@example.com>`); required with a host.")
    smtp_username: str = Field("", description="SMTP login, if the server wants one.")
    smtp_password: str = Field("", description="SMTP password.")
    smtp_starttls: bool = Field(True, description="Require STARTTLS on a plain connection (`0`: send in clear).")
    smtp_tls: bool = Field(False, description="Connect with implicit TLS (port 465) instead of STARTTLS.")
    smtp_timeout_s: float = Field(20.0, gt=0, description="Seconds one send may take before it counts as failed.")

    @model_validator(mode="after")
    def _sender_with_host(self) -> EmailConfig:
        if self.smtp_host and not self.smtp_from:
            raise ValueError("FD_NOTIFY_SMTP_FROM is required when FD_NOTIFY_SMTP_HOST is set")
        return self

    def sender(self) -> EmailSender | None:
        """The sender these variables describe, or None when email is off (no host)."""
        return EmailSender(self) if self.smtp_host else None


class EmailSender:
    """Sends one plain-text UTF-8 message per call. Raises `aiosmtplib.SMTPException` or `OSError` (refused,
    unreachable, timed out, the recipient rejected)."""

    def __init__(self, config: EmailConfig) -> None:
        self._config = config

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self._config.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self._config.smtp_host)
        message.set_content(body, charset="utf-8")
        config = self._config
        await aiosmtplib.send(
            message,
            hostname=config.smtp_host,
            port=config.smtp_port,
            username=config.smtp_username or None,
            password=config.smtp_password or None,
            use_tls=config.smtp_tls,
            start_tls=False if config.smtp_tls else config.smtp_starttls,
            timeout=config.smtp_timeout_s,
        )


__all__ = ["EMAIL_ADDRESS", "EmailConfig", "EmailSender", "email_address"]
