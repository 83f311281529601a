"""Reason codes a message can carry besides the consent engine's (consent/rules.py)."""

from __future__ import annotations

MESSAGE_REASONS: dict[str, str] = {
    "duplicate": "The same notice was already sent for this event to this recipient.",
    "expired": "It could not be delivered before it stopped being useful (e.g. after the ETA).",
    "superseded": "The appointment changed; a newer message replaces this one.",
    "no_sms_number": "The company has no SMS number yet.",
    "sender_not_registered": "The company's SMS sender registration is pending or rejected.",
    "no_sender_email": "The company has no sender email address set.",
    "template_error": "The template could not be rendered.",
    "opted_out_at_carrier": "The carrier says the number opted out (replied STOP).",
    "notification_disabled": "The company turned this notification off.",
    "no_recipient": "No contact of the chosen roles has a usable address or number.",
    "not_customer_initiated": "A reply needs a text from the number first; this thread has none.",
    "opted_out_by_keyword": "The number texted STOP; only the one confirmation may follow.",
}


def reason(code: str, message: str | None = None) -> dict[str, str]:
    return {"code": code, "message": message or MESSAGE_REASONS.get(code, code)}
