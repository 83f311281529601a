"""Pure rules of the two-way SMS number: keywords, inbound routing, opt-in request limits,
whether a reply may go out, and the wording of the automatic answers.

Plain values in, decisions out; no database, no clock, no settings (DESIGN.md, "Two-way
SMS number"). The services in this folder load the facts and record the decisions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

KeywordKind = Literal["opt_out", "opt_in", "help", "yes"]

# CTIA Messaging Principles & Best Practices §5 (STOP, END, CANCEL, UNSUBSCRIBE, QUIT,
# STOPALL) plus the FCC's TCPA revocation rule (47 CFR 64.1200(a)(10), in force April 2025),
# which adds REVOKE and OPT OUT as words that must revoke consent. Compared with spaces
# removed, so "opt out", "opt-out" and "OPTOUT" are one word.
OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
# CTIA: START, UNSTOP and the carrier opt-in keywords resubscribe the number.
OPT_IN_WORDS = frozenset({"start", "unstop", "restart", "subscribe", "enroll"})
# CTIA §5.1.3: HELP (and INFO) must always be answered with who we are and how to stop.
HELP_WORDS = frozenset({"help", "info"})
YES_WORDS = frozenset({"yes"})

# In a longer text these words mean "stop texting me" whatever else is said.
_STRONG_OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "revoke", "optout"})
# These are everyday words ("cancel my appointment", "at the end of the road"): they flag
# an opt-out only next to a word about texting ("quit texting me", "cancel these texts").
_WEAK_OPT_OUT = frozenset({"cancel", "end", "quit"})
_TEXTING = frozenset({"text", "texts", "texting", "message", "messages", "msg", "msgs", "sms"})
_OPT_OUT_PHRASES = ("opt out", "remove me", "do not text", "dont text", "don t text")
_NOT_WORD = re.compile(r"[^\w]+|_")


@dataclass(frozen=True)
class Keyword:
    """What an inbound text asks for. ``kind`` is set only when the whole message is a
    keyword; ``likely_opt_out`` when a longer message reads like a revocation."""

    kind: KeywordKind | None
    word: str | None = None
    likely_opt_out: bool = False


def normalise(body: str) -> str:
    """Lower case, punctuation gone, single spaces, and a leading/trailing "please" dropped.

    DESIGN.md: "Stop.", " opt-out " and "Please STOP" are all the keyword.
    """
    words = _NOT_WORD.sub(" ", body.casefold()).split()
    if len(words) > 1 and words[0] == "please":
        words = words[1:]
    if len(words) > 1 and words[-1] == "please":
        words = words[:-1]
    return " ".join(words)


def classify(body: str) -> Keyword:
    """Match the message against the keywords, as a whole message only."""
    text = normalise(body)
    compact = text.replace(" ", "")
    for kind, words in (
        ("opt_out", OPT_OUT_WORDS),
        ("opt_in", OPT_IN_WORDS),
        ("help", HELP_WORDS),
        ("yes", YES_WORDS),
    ):
        if compact in words:
            return Keyword(kind=kind, word=compact)  # type: ignore[arg-type]
    return Keyword(kind=None, likely_opt_out=_reads_like_opt_out(text))


def _reads_like_opt_out(text: str) -> bool:
    # FCC TCPA revocation rule: consent may be revoked "by any reasonable means", so a
    # sentence like "stop texting me" must reach a person as a likely opt-out, not chat.
    words = set(text.split())
    if words & _STRONG_OPT_OUT:
        return True
    if words & _WEAK_OPT_OUT and words & _TEXTING:
        return True
    padded = f" {text} "
    return any(f" {phrase} " in padded for phrase in _OPT_OUT_PHRASES)


# --- routing ----------------------------------------------------------------------------

RouteReason = Literal["job_in_progress", "point_of_contact", "lowest_owner_admin", "unrouted"]
# Meanings of a dispatch status that say the technician is on the way or at work.
STARTED_MEANINGS = frozenset({"traveling", "working"})
FINISHED_APPOINTMENT_STATES = frozenset({"completed", "cancelled"})


@dataclass(frozen=True)
class Visit:
    """An appointment of the sender's customer, as routing sees it.

    ``started_at`` is the latest "on my way" (en-route event, or a status meaning
    traveling/working) on it, ``None`` if nobody has pressed it.
    """

    appointment_id: int
    status: str
    technician_ids: tuple[int, ...]
    started_at: datetime | None


@dataclass(frozen=True)
class StaffMember:
    user_id: int
    role: str
    active: bool = True


@dataclass(frozen=True)
class Route:
    user_ids: tuple[int, ...]
    reason: RouteReason
    appointment_id: int | None = None


def in_progress(visit: Visit) -> bool:
    """On my way pressed and not yet finished (DESIGN.md, "Two-way SMS number")."""
    if visit.status in FINISHED_APPOINTMENT_STATES:
        return False
    return visit.started_at is not None or visit.status == "in_progress"


def route_inbound(
    *, visits: Iterable[Visit], point_of_contact_id: int | None, staff: Sequence[StaffMember]
) -> Route:
    """Who an inbound text goes to.

    1. A visit in progress → every active technician assigned to it. With several in
       progress, the one started last wins (ties: lowest appointment id), so the answer
       never depends on row order.
    2. Else the company's point of contact, if an active user.
    3. Else the active owner/admin with the lowest user id.
    """
    active = {s.user_id: s for s in staff if s.active}
    live = [v for v in visits if in_progress(v)]
    live.sort(key=lambda v: (-(v.started_at.timestamp() if v.started_at else 0), v.appointment_id))
    for visit in live:
        technicians = tuple(sorted(u for u in set(visit.technician_ids) if u in active))
        if technicians:
            return Route(technicians, "job_in_progress", visit.appointment_id)
    if point_of_contact_id is not None and point_of_contact_id in active:
        return Route((point_of_contact_id,), "point_of_contact")
    bosses = sorted(u for u, s in active.items() if s.role in ("owner", "admin"))
    if bosses:
        return Route((bosses[0],), "lowest_owner_admin")
    return Route((), "unrouted")


# --- opt-in requests --------------------------------------------------------------------


@dataclass(frozen=True)
class OptInLimits:
    """Caps against SMS pumping (DESIGN.md: public forms that make us send a text)."""

    per_ip_per_day: int = 5
    per_number_per_day: int = 1
    per_company_per_day: int = 200
    unanswered_per_company: int = 500


@dataclass(frozen=True)
class OptInFacts:
    number_region: str | None
    company_countries: frozenset[str]
    number_status: str  # the phone's marketing SMS status: none/pending/opted_in/opted_out
    unanswered_for_number: bool
    sent_to_number_today: int
    from_ip_today: int
    company_today: int
    company_unanswered: int
    from_web: bool


def opt_in_request_blocks(facts: OptInFacts, limits: OptInLimits = OptInLimits()) -> list[str]:
    """Reason codes (most decisive first) why an opt-in request must not be texted; empty
    when it may. Web form and office requests share every rule but the per-IP cap."""
    blocks: list[str] = []
    if facts.number_region not in facts.company_countries:
        # SMS pumping sends premium-rate traffic abroad: only the company's countries.
        blocks.append("country_not_allowed")
    if facts.number_status == "opted_out":
        # CTIA: after STOP nothing but the one confirmation; the customer texts START.
        blocks.append("number_opted_out")
    elif facts.number_status == "opted_in":
        blocks.append("already_opted_in")
    if facts.unanswered_for_number:
        blocks.append("opt_in_request_unanswered")  # DESIGN.md: never resend unanswered
    if facts.sent_to_number_today >= limits.per_number_per_day:
        blocks.append("number_daily_limit")
    if facts.from_web and facts.from_ip_today >= limits.per_ip_per_day:
        blocks.append("ip_daily_limit")
    if facts.company_today >= limits.per_company_per_day:
        blocks.append("company_daily_limit")
    if facts.company_unanswered >= limits.unanswered_per_company:
        blocks.append("too_many_unanswered")
    return blocks


# --- replies ----------------------------------------------------------------------------


def reply_blocks(*, customer_initiated: bool, keyword_status: str) -> list[str]:
    """Why an office/technician reply in a thread may not go out (empty: it may).

    A reply to someone who texted us is conversational messaging (CTIA Messaging
    Principles §4.1: the consumer starts, the business answers), so it needs neither the
    marketing opt-in nor the transactional flags; but it must be an answer — a thread the
    business started is not conversational — and after STOP nothing but the one
    confirmation may follow (CTIA §5.1.2; Twilio refuses with error 21610 anyway).
    """
    blocks = []
    if not customer_initiated:
        blocks.append("not_customer_initiated")
    if keyword_status == "opted_out":
        blocks.append("opted_out_by_keyword")
    return blocks


# --- automatic answers (CTIA-required content, not company-editable) ---------------------


def opt_out_confirmation(company_name: str) -> str:
    """CTIA §5.1.2: one confirmation, no marketing, says how to come back."""
    return (
        f"{company_name}: you are unsubscribed and will get no more marketing texts. "
        "Reply START to resubscribe."
    )


def opt_in_confirmation(company_name: str) -> str:
    """CTIA §5.1.1: program name, frequency, rates, HELP and STOP."""
    return (
        f"{company_name}: you are subscribed to offers and news by text. Msg frequency "
        "varies. Msg&data rates may apply. Reply HELP for help, STOP to opt out."
    )


def help_answer(company_name: str, phone: str | None) -> str:
    """CTIA §5.1.3: who we are, how to reach us, rates, how to stop."""
    reach = f" Call {phone}." if phone else ""
    return (
        f"{company_name}:{reach} Msg&data rates may apply. Reply STOP to opt out of "
        "marketing texts."
    )


def web_form_disclosure(company_name: str) -> str:
    """Shown beside the web opt-in form and kept as the consent wording (TCPA, 47 CFR
    64.1200(f)(9): clear disclosure that the texts are marketing and consent is not a
    condition of purchase; CTIA §5.1.1 program details)."""
    return (
        f"By submitting, you ask {company_name} to text you offers and news at this number. "
        "We will text you once to confirm: reply YES to subscribe. Consent is not a "
        "condition of purchase. Msg frequency varies. Msg&data rates may apply. Reply HELP "
        "for help, STOP to opt out."
    )
