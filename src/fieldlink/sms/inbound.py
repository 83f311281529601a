"""Inbound texts to a company number: threading, keywords, routing.

A keyword (whole message) changes consent and is answered at once in the webhook's
TwiML. Any other text is only recorded by the webhook, durably (an outbox job
``sms.receive``, committed before the 200), and threaded and routed to a person by a worker
moments later (:func:`receive_recorded`): it never gets a TwiML answer anyway, and the
webhook stays a single insert however busy the number is. A text is stored once per
``MessageSid``: a provider retry gets back the answer stored with the first delivery and
changes nothing (DESIGN.md: "Webhook retries are recognised by MessageSid and change
nothing twice").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.consent.changes import record_consent_event
from fieldlink.consent.models import ConsentEvent
from fieldlink.consent.service import customer_opt_in_sms, customer_opt_out_sms
from fieldlink.customers.models import ContactMethod
from fieldlink.db import utcnow
from fieldlink.errors import Conflict
from fieldlink.messaging.service import Refs, record_direct_reply
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.publish import publish_many
from fieldlink.sms import rules
from fieldlink.sms.models import Conversation, OptInRequest, SmsMessage
from fieldlink.sms.routing import notify_routed, route
from fieldlink.sms.service import (
    KEYWORD_TOUCHPOINT,
    add_text,
    conversation_for,
    methods_for_phone,
    queue_text,
)
from fieldlink.validation import normalise_phone

MAX_BODY = 1600  # Twilio's limit for one inbound message (10 segments)
RECEIVE_TOPIC = "sms.receive"


@dataclass(frozen=True)
class Inbound:
    """What the webhook answers: ``reply`` is sent back as TwiML ``<Message>``."""

    reply: str | None
    text: SmsMessage | None
    repeat: bool = False


def company_by_number(session: Session, number: str) -> Company | None:
    e164 = _number(number)
    if e164 is None:
        return None
    return session.scalar(select(Company).where(Company.sms_number == e164))


def message_sid(form: Mapping[str, str]) -> str:
    """The provider's id of the text ('' when the post is not a message)."""
    return form.get("MessageSid") or form.get("SmsSid") or ""


def answers_at_once(body: str) -> bool:
    """Whether the webhook itself must handle the text before it answers: a keyword
    (STOP, START, HELP, YES) changes consent or asks for an answer, which goes back in the
    TwiML, and an opt-out is honoured before the 200 (TCPA 47 CFR 64.1200(a)(10); CTIA
    §5.1 confirmation). Every other text can wait for a worker."""
    return rules.classify(body[:MAX_BODY]).kind is not None


def received(form: Mapping[str, str], now: datetime) -> tuple[str, dict[str, str]]:
    """The outbox job (dedupe key, payload) recording a text for :func:`receive_recorded`.
    The key is the number and MessageSid, so a provider retry queues nothing new."""
    sid, to = message_sid(form), form.get("To", "").strip()[:40]
    payload = {
        "to": to,
        "from": form.get("From", ""),
        "body": form.get("Body", "")[:MAX_BODY],
        "sid": sid,
        "received_at": now.isoformat(),
    }
    return f"{RECEIVE_TOPIC}:{to}:{sid}", payload


def record_received(session: Session, jobs: list[tuple[str, dict[str, str]]]) -> list[None]:
    """Record texts (from :func:`received`) for the worker: one insert for the lot, a
    retried MessageSid skipped. The webhook lane's bulk unit (one result per item)."""
    now = utcnow()
    publish_many(session, RECEIVE_TOPIC, [(key, dict(p)) for key, p in jobs], now=now)
    return [None] * len(jobs)


def accept(
    session: Session, form: Mapping[str, str], *, base_url: str, now: datetime
) -> str | None:
    """The inbound-text webhook: a keyword is applied and answered now (the reply is
    returned); any other text is recorded for the worker. Not a message: nothing."""
    if not message_sid(form):
        return None
    if answers_at_once(form.get("Body", "")):
        return reply_to_webhook(session, form, base_url=base_url, now=now)
    record_received(session, [received(form, now)])
    return None


def receive_recorded(
    session: Session,
    payload: Mapping[str, str],
    *,
    company: Company | None,
    base_url: str,
    now: datetime,
) -> Inbound | None:
    """The worker's half: thread and route a text the webhook recorded for ``company``
    (the owner of the number texted). It keeps the time it was received (the thread's
    order); a number that is no longer ours (``company`` None) drops it."""
    if company is None or not payload.get("sid"):
        return None
    return receive_text(
        session,
        company=company,
        sender=sender_phone(payload.get("from", "")),
        body=payload.get("body", ""),
        sid=payload["sid"],
        base_url=base_url,
        now=now,
        received_at=datetime.fromisoformat(payload["received_at"]),
    )


def forget_received(session: Session, *, company: Company, phones: list[str]) -> int:
    """Delete the texts from ``phones`` to the company's number that the webhook recorded
    and no worker has threaded yet (erasure); returns how many. Few are ever waiting, so
    they are read and matched here rather than by a JSON query per database."""
    if not phones or not company.sms_number:
        return 0
    wanted = set(phones)
    waiting = session.execute(
        select(OutboxJob.id, OutboxJob.payload).where(
            OutboxJob.topic == RECEIVE_TOPIC, OutboxJob.status != "done"
        )
    ).all()
    ids = [
        job_id
        for job_id, payload in waiting
        if sender_phone(str(payload.get("from", ""))) in wanted
        and _number(str(payload.get("to", ""))) == company.sms_number
    ]
    if ids:
        session.execute(delete(OutboxJob).where(OutboxJob.id.in_(ids)))
    return len(ids)


def _number(raw: str) -> str | None:
    """``raw`` in E.164, or None when it is not a phone number."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return None


def reply_to_webhook(
    session: Session, form: Mapping[str, str], *, base_url: str, now: datetime
) -> str | None:
    """The inbound-text webhook's work, for the route and the webhook lane alike: the text
    received (threaded, keywords applied, routed); returns the reply to send back, if any.
    A post to a number that is not ours, or that is not a message, changes nothing."""
    company = company_by_number(session, form.get("To", ""))
    sid = message_sid(form)
    if company is None or not sid:
        return None
    result = receive_text(
        session,
        company=company,
        sender=sender_phone(form.get("From", "")),
        body=form.get("Body", ""),
        sid=sid,
        base_url=base_url,
        now=now,
    )
    return result.reply


def sender_phone(raw: str) -> str:
    """The sender in E.164; short codes and odd senders are kept as given (trimmed)."""
    try:
        return normalise_phone(raw)
    except ValueError:
        return raw.strip()[:20] or "unknown"


def receive_text(
    session: Session,
    *,
    company: Company,
    sender: str,
    body: str,
    sid: str,
    base_url: str,
    now: datetime,
    received_at: datetime | None = None,
) -> Inbound:
    """Thread, interpret and route one inbound text (see the module docstring); the text
    is dated ``received_at`` (when the webhook took it), else ``now``."""
    earlier = _by_sid(session, company_id=company.id, sid=sid)
    if earlier is not None:
        return Inbound(earlier.auto_reply, earlier, repeat=True)
    # The number's contact methods, read once: threading, routing and consent all need them.
    methods = methods_for_phone(session, company_id=company.id, phone=sender)
    conversation = conversation_for(
        session, company_id=company.id, phone=sender, now=now, methods=methods, lock=True
    )
    body = body[:MAX_BODY]
    keyword = rules.classify(body)
    # Routed before the text is stored, so it is stored with its routing in one INSERT.
    # (Should a racing delivery of the same MessageSid win below, this only recomputed the
    # thread's current assignees.)
    decision = route(session, company=company, conversation=conversation, methods=methods)
    session.flush()  # the routing first: only the text itself goes in the savepoint below
    try:
        # Two deliveries of one MessageSid racing: the unique key lets one through.
        with session.begin_nested():
            text = add_text(
                session,
                conversation=conversation,
                direction="inbound",
                body=body,
                now=received_at or now,
                provider_sid=sid,
                likely_opt_out=keyword.likely_opt_out,
                routed_user_ids=list(decision.user_ids),
                route_reason=decision.reason,
            )
    except IntegrityError:
        earlier = _by_sid(session, company_id=company.id, sid=sid)
        assert earlier is not None
        return Inbound(earlier.auto_reply, earlier, repeat=True)
    reply = _keyword(
        session,
        company=company,
        conversation=conversation,
        text=text,
        now=now,
        keyword=keyword,
        methods=methods,
    )
    if reply is None and text.keyword is None:
        notify_routed(
            session,
            company=company,
            conversation=conversation,
            text=text,
            decision=decision,
            base_url=base_url,
            now=now,
        )
    if reply is not None:
        text.auto_reply = reply
        add_text(
            session,
            conversation=conversation,
            direction="outbound",
            body=reply,
            now=now,
            keyword=text.keyword,
        )
        record_direct_reply(
            session,
            company=company,
            to=conversation.phone,
            body=reply,
            touchpoint=KEYWORD_TOUCHPOINT,
            customer_id=conversation.customer_id,
            contact_id=conversation.contact_id,
            idempotency_key=f"keyword_reply:{sid}",
            now=now,
            refs=Refs(subject_ref=f"conversation:{conversation.id}"),
        )
    session.flush()
    return Inbound(reply, text)


def _by_sid(session: Session, *, company_id: int, sid: str) -> SmsMessage | None:
    return session.scalar(
        select(SmsMessage).where(
            SmsMessage.company_id == company_id, SmsMessage.provider_sid == sid
        )
    )


def _keyword(
    session: Session,
    *,
    company: Company,
    conversation: Conversation,
    text: SmsMessage,
    keyword: rules.Keyword,
    now: datetime,
    methods: list[ContactMethod],
) -> str | None:
    """Apply a whole-message keyword; return the answer to send, if any.

    CTIA §5.1: exactly one confirmation per change and none for a repeat; HELP is
    answered every time.
    """
    sid = text.provider_sid
    if keyword.kind == "help":
        text.keyword = "help"
        return rules.help_answer(company.name, company.business_phone)
    if keyword.kind == "opt_out":
        text.keyword = "opt_out"
        changed = opt_out(
            session,
            conversation=conversation,
            wording=text.body,
            reference=sid,
            actor=None,
            now=now,
            methods=methods,
        )
        _answer_requests(session, conversation=conversation, status="declined", sid=sid, now=now)
        return rules.opt_out_confirmation(company.name) if changed else None
    # Only a YES needs the pending requests read (most texts are no keyword at all).
    pending = keyword.kind == "yes" and bool(_pending_requests(session, conversation=conversation))
    if keyword.kind == "opt_in" or pending:
        text.keyword = keyword.kind
        # A YES is only consent when it answers our request (double opt-in); START is
        # consent on its own (CTIA keyword).
        source = "keyword" if keyword.kind == "opt_in" else "opt_in_request"
        changed = opt_in(
            session,
            conversation=conversation,
            wording=text.body,
            reference=sid,
            source=source,
            now=now,
            methods=methods,
        )
        _answer_requests(session, conversation=conversation, status="confirmed", sid=sid, now=now)
        return rules.opt_in_confirmation(company.name) if changed else None
    return None


def opt_out(
    session: Session,
    *,
    conversation: Conversation,
    wording: str,
    reference: str | None,
    actor: str | None,
    now: datetime,
    methods: list[ContactMethod] | None = None,
) -> bool:
    """The number revokes marketing-text consent; True when that changed anything.

    TCPA (47 CFR 64.1200(a)(10)): honoured at once for every method holding the number,
    with the exact wording and the MessageSid as evidence. An unknown sender's revocation
    is kept against the number itself.
    """
    events = customer_opt_out_sms(
        session,
        company_id=conversation.company_id,
        phone=conversation.phone,
        source="keyword",
        wording=wording,
        reference=reference,
        at=now,
        methods=methods,
    )
    for event in events:
        event.actor = actor  # who read a sentence as a revocation, when a person did
    return _phone_level(
        session, conversation, "opted_out", events, wording, reference, actor, now, methods
    )


def opt_in(
    session: Session,
    *,
    conversation: Conversation,
    wording: str,
    reference: str | None,
    source: str,
    now: datetime,
    methods: list[ContactMethod] | None = None,
) -> bool:
    """The number opts in to marketing texts (START, or YES to our request)."""
    events = customer_opt_in_sms(
        session,
        company_id=conversation.company_id,
        phone=conversation.phone,
        source=source,
        wording=wording,
        reference=reference,
        at=now,
        methods=methods,
    )
    events = [e for e in events if e.field == "marketing_sms_status"]
    return _phone_level(
        session, conversation, "opted_in", events, wording, reference, None, now, methods
    )


def _phone_level(
    session: Session,
    conversation: Conversation,
    status: str,
    events: list[ConsentEvent],
    wording: str,
    reference: str | None,
    actor: str | None,
    now: datetime,
    methods: list[ContactMethod] | None = None,
) -> bool:
    old = conversation.keyword_status
    conversation.keyword_status = status
    known = methods
    if known is None:
        known = methods_for_phone(
            session, company_id=conversation.company_id, phone=conversation.phone
        )
    if old != status and not known:
        # No contact method holds the number: the consent evidence is kept against the
        # number itself, so it survives until someone adds it to a customer.
        record_consent_event(
            session,
            company_id=conversation.company_id,
            customer_id=None,
            contact_method_id=None,
            subject=conversation.phone,
            field="marketing_sms_status",
            old_value=old,
            new_value=status,
            source="keyword",
            actor=actor,
            wording=wording,
            reference=reference,
            at=now,
        )
    return bool(events) or old != status


def _pending_requests(session: Session, *, conversation: Conversation) -> list[OptInRequest]:
    return list(
        session.scalars(
            select(OptInRequest).where(
                OptInRequest.company_id == conversation.company_id,
                OptInRequest.phone == conversation.phone,
                OptInRequest.status == "pending",
            )
        )
    )


def _answer_requests(
    session: Session, *, conversation: Conversation, status: str, sid: str | None, now: datetime
) -> None:
    for request in _pending_requests(session, conversation=conversation):
        request.status, request.answered_at, request.answer_sid = status, now, sid


def confirm_likely_opt_out(
    session: Session,
    *,
    company: Company,
    conversation: Conversation,
    text: SmsMessage,
    actor: str,
    now: datetime,
) -> SmsMessage:
    """A person confirms that a flagged text ("stop texting me") is an opt-out.

    The evidence is the customer's own words and MessageSid; the confirmation text goes
    out once through the outbox (keyed on the text), and not at all when the number was
    already opted out. A second click changes nothing.
    """
    if not text.likely_opt_out or text.direction != "inbound":
        raise Conflict("this text was not flagged as a likely opt-out", code="not_flagged")
    if text.opt_out_confirmed_at is not None:
        return text
    text.opt_out_confirmed_at = now
    changed = opt_out(
        session,
        conversation=conversation,
        wording=text.body,
        reference=text.provider_sid,
        actor=actor,
        now=now,
    )
    _answer_requests(
        session, conversation=conversation, status="declined", sid=text.provider_sid, now=now
    )
    if changed:
        queue_text(
            session,
            company=company,
            conversation=conversation,
            touchpoint=KEYWORD_TOUCHPOINT,
            body=rules.opt_out_confirmation(company.name),
            blocks=[],
            idempotency_key=f"opt_out_confirmation:{text.id}",
            now=now,
        )
    session.flush()
    return text
