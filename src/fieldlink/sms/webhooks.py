"""Provider-facing webhooks on the company number: inbound texts and calls (signed).

Both answer TwiML. The signature is checked before anything is read or written
(``signed_twilio_form``: 403, nothing changed); the company is found by ``To``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from fastapi import APIRouter, Request, Response

from fieldlink.config import Settings
from fieldlink.db import utcnow
from fieldlink.messaging.webhooks import SignedForm
from fieldlink.sms import inbound
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["webhooks"])
XML = "application/xml"


def twiml(*verbs: str) -> Response:
    body = '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"
    return Response(body, media_type=XML)


@router.post("/webhooks/sms/inbound", response_class=Response)
def sms_inbound(request: Request, form: SignedForm, session: DbSession) -> Response:
    """An inbound text: a keyword is applied and answered here (``<Message>``); any other
    text is recorded and a worker threads it and routes it to a person. A retry of the
    same ``MessageSid`` gets the first answer again (the provider only retries when it
    never got it) and changes nothing.

    Form posts are answered by the webhook lane (``web/webhook_lane.py``) before they get
    here, with the same checks and the same work in a group commit."""
    settings: Settings = request.app.state.settings
    reply = inbound.accept(session, form, base_url=settings.base_url, now=utcnow())
    if reply is None:
        return twiml()  # nothing to say (or not our number, or not a message)
    return twiml(f"<Message>{escape(reply)}</Message>")


@router.post("/webhooks/voice/inbound", response_class=Response)
def voice_inbound(form: SignedForm, session: DbSession) -> Response:
    """A call to the SMS number is forwarded to the company's business phone."""
    company = inbound.company_by_number(session, form.get("To", ""))
    if company is None:
        return twiml("<Reject/>")
    if not company.business_phone:
        return twiml(
            f"<Say>{escape(company.name)} cannot take calls at this number. "
            "Please send a text message instead.</Say>",
            "<Hangup/>",
        )
    return twiml(f"<Dial>{escape(company.business_phone)}</Dial>")
