"""Email transports: SMTP (``smtp://user:pass@host:port?starttls=true``, ``smtps://``) and log."""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import uuid
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import parse_qs, unquote, urlparse

from fieldlink.channels.base import Email, TransportError

log = logging.getLogger("fieldlink.email")

# SMTP reply codes that retrying cannot fix (RFC 5321 §4.2: 5yz is a permanent negative).
_PERMANENT_FIRST_DIGIT = "5"


def build_mime(email: Email, *, message_id: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = formataddr((email.from_name or "", email.from_email))
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Message-ID"] = message_id or make_msgid(domain=email.from_email.split("@")[-1])
    if email.reply_to:
        msg["Reply-To"] = email.reply_to
    if email.reference:
        msg["X-Fieldlink-Message"] = email.reference
    for name, value in email.headers.items():
        msg[name] = value
    msg.set_content(email.text)
    if email.html:
        msg.add_alternative(email.html, subtype="html")
    return msg


class SmtpTransport:
    """Sends through an SMTP server; one connection per thread, reopened when it drops."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError("FIELDLINK_SMTP_URL must look like smtp://user:pass@host:587")
        query = parse_qs(parsed.query)
        self.host = parsed.hostname
        self.port = parsed.port or (465 if parsed.scheme == "smtps" else 25)
        self.ssl = parsed.scheme == "smtps"
        self.starttls = query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else None
        self.timeout = timeout
        self._local = threading.local()

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if self.ssl:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=context)
        if self.username:
            conn.login(self.username, self.password or "")
        return conn

    def _conn(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def send(self, email: Email) -> str:
        msg = build_mime(email)
        message_id = str(msg["Message-ID"])
        for attempt in (1, 2):
            try:
                self._conn().send_message(msg)
                return message_id
            except smtplib.SMTPServerDisconnected:
                self._local.conn = None  # a pooled connection the server closed; reopen once
                if attempt == 2:
                    raise TransportError("SMTP server disconnected", permanent=False) from None
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                raise TransportError(
                    f"recipient refused: {code} {reply!r}",
                    permanent=str(code).startswith(_PERMANENT_FIRST_DIGIT),
                    code="recipient_refused",
                ) from exc
            except smtplib.SMTPResponseException as exc:
                self._local.conn = None
                raise TransportError(
                    f"SMTP {exc.smtp_code}: {exc.smtp_error!r}",
                    permanent=str(exc.smtp_code).startswith("5"),
                ) from exc
            except (OSError, smtplib.SMTPException) as exc:
                self._local.conn = None
                raise TransportError(f"SMTP unavailable: {exc}", permanent=False) from exc
        raise AssertionError("unreachable")


class LogEmailTransport:
    """The demo's sink: logs each email and keeps the last ones in memory."""

    def __init__(self, keep: int = 1000) -> None:
        self.sent: list[Email] = []
        self.keep = keep

    def send(self, email: Email) -> str:
        self.sent = [*self.sent[-(self.keep - 1) :], email]
        log.info("email to %s: %s", email.to, email.subject)
        return f"log-{uuid.uuid4().hex}"
