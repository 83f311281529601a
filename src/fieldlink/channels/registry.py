"""Which transports this process delivers through (set once at start from Settings)."""

from __future__ import annotations

from dataclasses import dataclass

from fieldlink.channels.base import EmailTransport, SmsTransport
from fieldlink.channels.email import LogEmailTransport, SmtpTransport
from fieldlink.channels.sms import LogSmsTransport, TwilioSmsTransport
from fieldlink.config import Settings


@dataclass
class Channels:
    email: EmailTransport
    sms: SmsTransport
    base_url: str


_current: Channels | None = None


def from_settings(settings: Settings) -> Channels:
    email: EmailTransport
    sms: SmsTransport
    if settings.email_provider == "smtp":
        email = SmtpTransport(settings.smtp_url)
    else:
        email = LogEmailTransport()
    if settings.sms_provider == "twilio":
        sms = TwilioSmsTransport(
            api_url=settings.twilio_api_url,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
        )
    else:
        sms = LogSmsTransport()
    return Channels(email=email, sms=sms, base_url=settings.base_url)


def configure(channels: Channels) -> Channels:
    global _current
    _current = channels
    return channels


def current() -> Channels:
    global _current
    if _current is None:
        from fieldlink.config import get_settings

        _current = from_settings(get_settings())
    return _current
