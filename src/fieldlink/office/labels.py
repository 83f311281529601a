"""Display names of stored codes, marked for translation (shown with ``_(labels.x[code])``)."""

from __future__ import annotations

from fieldlink.pages.i18n import N_

MESSAGE_STATUS = {
    "queued": N_("Queued"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "undelivered": N_("Undelivered"),
    "failed": N_("Failed"),
    "suppressed": N_("Not sent"),
}
CONTACT_ROLE = {
    "owner": N_("Owner"),
    "scheduling": N_("Scheduling"),
    "site": N_("Site"),
    "financial": N_("Financial"),
    "other": N_("Other"),
}
PHONE_TYPE = {"mobile": N_("Mobile"), "landline": N_("Landline"), "other": N_("Other phone")}
CHANNEL = {"sms": N_("Text"), "email": N_("Email")}
TOUCHPOINT = {
    "service_reminder": N_("Service reminder"),
    "appointment_confirmation": N_("Appointment confirmation"),
    "en_route": N_("On my way"),
    "status_update": N_("Status update"),
    "service_link": N_("Service link"),
    "work_acknowledgement": N_("Work acknowledgement"),
    "estimate": N_("Estimate"),
    "invoice": N_("Invoice"),
    "review_request": N_("Review request"),
    "opt_in_request": N_("Opt-in request"),
    "inbound_forward": N_("Text forwarded to staff"),
    "campaign": N_("Campaign"),
    "conversation_reply": N_("Reply"),
    "keyword_reply": N_("Keyword answer"),
    "staff_password_reset": N_("Password reset"),
    "staff_invite": N_("Office invitation"),
}


def label(table: dict[str, str], code: str | None) -> str:
    """The label of ``code`` (untranslated source text), or the code itself if unknown."""
    return table.get(code or "", code or "")
