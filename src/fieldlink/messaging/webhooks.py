"""Provider-facing webhooks for delivery receipts (signed; no API key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError

from fieldlink.channels.signatures import hmac_sha256_valid, twilio_signature_valid
from fieldlink.config import Settings
from fieldlink.db import utcnow
from fieldlink.errors import Forbidden, PayloadTooLarge, ValidationFailed
from fieldlink.messaging.receipts import apply_email_event, settle_sms_receipt
from fieldlink.messaging.schemas import EmailEventsIn
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["webhooks"])
MAX_FORM_BYTES = 64 * 1024
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def bounded_body(request: Request, limit: int) -> bytes:
    """The body, read only up to ``limit`` bytes: a huge post is refused (413) by its
    Content-Length or as soon as it streams past the limit, never held in memory whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"webhook body over {limit} bytes", code="webhook_too_large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"webhook body over {limit} bytes", code="webhook_too_large")
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # Starlette's body cache, so request.form() can still parse it
    return body


async def signed_twilio_form(request: Request) -> dict[str, str]:
    """The form of a Twilio-style webhook, or 403 if its signature is missing or wrong.

    The signed URL is FIELDLINK_BASE_URL + path (+ query), as the provider was told it.
    """
    settings: Settings = request.app.state.settings
    await bounded_body(request, MAX_FORM_BYTES)
    form = {k: str(v) for k, v in (await request.form()).items()}
    url = settings.base_url + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    token = settings.twilio_auth_token.get_secret_value()
    if not twilio_signature_valid(token, url, form, request.headers.get("x-twilio-signature")):
        raise Forbidden("invalid webhook signature", code="invalid_signature")
    return form


SignedForm = Annotated[dict[str, str], Depends(signed_twilio_form)]


@router.post("/webhooks/sms/status", response_class=Response)
def sms_status(request: Request, form: SignedForm, session: DbSession) -> Response:
    """Delivery receipts for texts we sent (Twilio ``StatusCallback``).

    Form posts are answered by the webhook lane (``web/webhook_lane.py``) before they get
    here, with the same checks and the same work in a group commit."""
    settle_sms_receipt(
        session,
        reference=request.query_params.get("m"),
        provider_id=form.get("MessageSid"),
        provider_status=form.get("MessageStatus", ""),
        error_code=form.get("ErrorCode") or None,
        now=utcnow(),
    )
    return Response(EMPTY_TWIML, media_type="application/xml")


async def signed_json(request: Request) -> bytes:
    """The raw body of a JSON webhook signed with HMAC-SHA256, or 403."""
    settings: Settings = request.app.state.settings
    body = await bounded_body(request, MAX_FORM_BYTES * 16)
    secret = settings.email_webhook_secret.get_secret_value()
    if not hmac_sha256_valid(secret, body, request.headers.get("x-fieldlink-signature")):
        raise Forbidden("invalid webhook signature", code="invalid_signature")
    return body


@router.post("/webhooks/email/events")
def email_events(raw: Annotated[bytes, Depends(signed_json)], session: DbSession) -> dict[str, int]:
    """Deliveries, bounces and complaints from the email provider (JSON, HMAC-SHA256 in
    ``X-Fieldlink-Signature``). Hard bounces and complaints suppress the address."""
    try:
        events = EmailEventsIn.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise ValidationFailed(field, str(first.get("msg", "invalid"))) from exc
    applied = 0
    now = utcnow()
    for event in events.events:
        found = apply_email_event(
            session,
            kind=event.type,
            email=event.email,
            reference=event.message_id,
            provider_id=event.provider_id,
            hard=event.bounce_type != "soft",
            detail=event.detail,
            now=now,
        )
        applied += found is not None
    return {"received": len(events.events), "applied": applied}
