"""Who may receive what, on which channel, and why: the pure consent rules.

No database, no clock, no settings: callers pass frozen facts and get a :class:`Decision`
listing *every* blocker, so "why did this customer not get it?" has a complete answer.
``consent/audience.py`` states the same rules in SQL for whole audiences; a hypothesis
test (``tests/consent/test_agreement.py``) proves the two agree.

Sources: DESIGN.md "Consent rules", which follows ServiceTitan's "Configure customer
profiles for marketing campaigns" (reference/003); the laws behind them are named where
a branch depends on one.

Reason codes (stable; the API returns them as ``{"code", "message"}``):

==================================  =========================================================
code                                meaning
==================================  =========================================================
``do_not_mail``                     customer is marked Do not mail
``do_not_service``                  customer is marked Do not service
``do_not_send_promotional_emails``  customer unsubscribed from promotional email
``no_postal_address``               customer has no postal address to mail
``invalid_postal_address``          address lacks street line, city or postcode
``no_email_address``                customer has no email address
``not_an_email_address``            this contact method is a phone number
``invalid_email_address``           the email address is not a deliverable-looking address
``email_suppressed``                address is on the company's email suppression list
``no_mobile_number``                customer has no phone number
``not_a_mobile_number``             method is not a mobile number (email, landline, other)
``no_marketing_updates``            method does not have Marketing updates
``no_job_notifications``            method does not have Job notifications
``no_marketing_sms_opt_in``         number's marketing SMS status is not ``opted_in``
``missing_opted_in_tag``            double opt-in is on and customer lacks tag ``Opted In``
``email_dormant``                   dormant suppression is on, customer tagged ``Email Dormant``
==================================  =========================================================

Preview-only code (``POST /v1/audiences/preview``): ``one_email_per_customer`` counts
addresses that were eligible but not chosen because the customer record already
receives the campaign at its first eligible address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Channel = Literal[
    "direct_mail", "marketing_email", "transactional_email", "transactional_sms", "marketing_sms"
]
CHANNELS: tuple[Channel, ...] = (
    "direct_mail",
    "marketing_email",
    "transactional_email",
    "transactional_sms",
    "marketing_sms",
)
OPTED_IN_TAG = "Opted In"
EMAIL_DORMANT_TAG = "Email Dormant"

REASON_MESSAGES: dict[str, str] = {
    "do_not_mail": "The customer is marked Do not mail.",
    "do_not_service": "The customer is marked Do not service.",
    "do_not_send_promotional_emails": "The customer asked not to get promotional emails.",
    "no_postal_address": "The customer has no postal address.",
    "invalid_postal_address": "The address lacks a street line, city or postcode.",
    "no_email_address": "The customer has no email address.",
    "not_an_email_address": "This contact method is not an email address.",
    "invalid_email_address": "The email address is not valid.",
    "email_suppressed": "The email address is on the company's suppression list.",
    "no_mobile_number": "The customer has no mobile number.",
    "not_a_mobile_number": "This contact method is not a mobile number; texts go to mobiles.",
    "no_marketing_updates": "Marketing updates are off for this contact method.",
    "no_job_notifications": "Job notifications are off for this contact method.",
    "no_marketing_sms_opt_in": "The number has not opted in to marketing texts.",
    "missing_opted_in_tag": "Double opt-in is on and the customer lacks the Opted In tag.",
    "email_dormant": "The customer is tagged Email Dormant and dormant emails are suppressed.",
    "one_email_per_customer": "Another address of this customer receives the campaign.",
}
REASON_CODES = tuple(REASON_MESSAGES)


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


def reason(code: str) -> Reason:
    return Reason(code=code, message=REASON_MESSAGES[code])


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


@dataclass(frozen=True)
class CompanyConsent:
    """The company's marketing settings that change eligibility."""

    marketing_suite: bool = False
    double_opt_in: bool = False
    dormant_email_suppression: bool = False


@dataclass(frozen=True)
class CustomerFacts:
    do_not_mail: bool = False
    do_not_service: bool = False
    do_not_send_promotional_emails: bool = False
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MethodFacts:
    """A contact method; ``suppressed`` = its address is on the suppression list."""

    kind: str  # "email" | "phone"
    value: str
    phone_type: str | None = None
    marketing_updates: bool = False
    job_notifications: bool = True
    marketing_sms_status: str = "none"
    suppressed: bool = False

    @property
    def email_valid(self) -> bool:
        return self.kind == "email" and looks_like_email(self.value)

    @property
    def is_mobile(self) -> bool:
        return self.kind == "phone" and self.phone_type == "mobile"


@dataclass(frozen=True)
class AddressFacts:
    """A postal address (a customer's location): the recipient of direct mail."""

    line1: str | None
    city: str | None
    postcode: str | None

    @property
    def valid(self) -> bool:
        return is_valid_postal_address(self.line1, self.city, self.postcode)


Recipient = MethodFacts | AddressFacts


def looks_like_email(value: str) -> bool:
    """One ``@`` with text before it and a dotted domain after it, no spaces.

    Addresses are fully validated (and lower-cased) when stored; this guards against
    imported or legacy values. audience.py states the same test with LIKE, so keep the
    two in step: ``'%_@_%._%'``, not ``'%@%@%'``, not ``'% %'``.
    """
    at = value.find("@")
    if at < 1 or value.count("@") != 1 or " " in value:
        return False
    return "." in value[at + 2 : len(value) - 1]


def is_valid_postal_address(line1: str | None, city: str | None, postcode: str | None) -> bool:
    """Street line, city and postcode present (blank after trimming spaces = absent)."""
    return all(part is not None and part.strip(" ") != "" for part in (line1, city, postcode))


def decide(
    channel: Channel,
    company: CompanyConsent,
    customer: CustomerFacts,
    recipient: Recipient | None,
) -> Decision:
    """May ``recipient`` (a contact method, or a postal address for direct mail) of
    ``customer`` receive a message on ``channel``? Lists every blocker, in a fixed order."""
    codes = _RULES[channel](company, customer, recipient)
    return Decision(allowed=not codes, reasons=tuple(reason(c) for c in codes))


def _customer_blocks(customer: CustomerFacts) -> list[str]:
    # ServiceTitan's rule for every marketing channel and for transactional SMS:
    # "Not have either the Do not mail or Do not service checkboxes selected".
    codes = []
    if customer.do_not_mail:
        codes.append("do_not_mail")
    if customer.do_not_service:
        codes.append("do_not_service")
    return codes


def _direct_mail(
    company: CompanyConsent, customer: CustomerFacts, recipient: Recipient | None
) -> list[str]:
    codes: list[str] = []
    if not isinstance(recipient, AddressFacts):
        codes.append("no_postal_address")
    elif not recipient.valid:
        # USPS can't deliver without street, city and ZIP; ServiceTitan: "a valid address".
        codes.append("invalid_postal_address")
    return codes + _customer_blocks(customer)


def _email_target(recipient: Recipient | None) -> tuple[list[str], MethodFacts | None]:
    if recipient is None:
        return ["no_email_address"], None
    if not isinstance(recipient, MethodFacts) or recipient.kind != "email":
        return ["not_an_email_address"], None
    if not recipient.email_valid:
        return ["invalid_email_address"], recipient
    return [], recipient


def _marketing_email(
    company: CompanyConsent, customer: CustomerFacts, recipient: Recipient | None
) -> list[str]:
    codes, method = _email_target(recipient)
    if method is not None:
        # CAN-SPAM §5(a)(4): an unsubscribed address must not get commercial email; bounces
        # and complaints are suppressed too (deliverability, DESIGN.md).
        if method.suppressed:
            codes.append("email_suppressed")
        if not method.marketing_updates:
            codes.append("no_marketing_updates")
    codes += _customer_blocks(customer)
    if customer.do_not_send_promotional_emails:
        codes.append("do_not_send_promotional_emails")
    # ServiceTitan (Marketing Pro v1): double opt-in requires the `Opted In` tag.
    if company.double_opt_in and OPTED_IN_TAG not in customer.tags:
        codes.append("missing_opted_in_tag")
    # ServiceTitan: opt-out message + "auto-suppress dormant emails" blocks `Email Dormant`.
    if company.dormant_email_suppression and EMAIL_DORMANT_TAG in customer.tags:
        codes.append("email_dormant")
    return codes


def _transactional_email(
    company: CompanyConsent, customer: CustomerFacts, recipient: Recipient | None
) -> list[str]:
    # Our rule (DESIGN.md is silent): a valid address with Job notifications, customer not
    # Do not service. CAN-SPAM exempts transactional/relationship messages (15 U.S.C.
    # §7702(17)), so the marketing suppression list, Do not mail and the promotional-email
    # flag don't apply; Do not service means we are not serving them, so no job mail.
    codes, method = _email_target(recipient)
    if method is not None and not method.job_notifications:
        codes.append("no_job_notifications")
    if customer.do_not_service:
        codes.append("do_not_service")
    return codes


def _mobile_target(recipient: Recipient | None) -> tuple[list[str], MethodFacts | None]:
    if recipient is None:
        return ["no_mobile_number"], None
    if not isinstance(recipient, MethodFacts) or recipient.kind != "phone":
        return ["not_a_mobile_number"], None
    # Texts only to mobiles (DESIGN.md "SMS never goes to a number typed landline"); a
    # landline's own flags are still reported, so every blocker of the number is listed.
    if not recipient.is_mobile:
        return ["not_a_mobile_number"], recipient
    return [], recipient


def _transactional_sms(
    company: CompanyConsent, customer: CustomerFacts, recipient: Recipient | None
) -> list[str]:
    codes, method = _mobile_target(recipient)
    if method is not None:
        if not method.job_notifications:
            codes.append("no_job_notifications")
        # ServiceTitan: with Marketing Pro, transactional texts need both Marketing
        # updates and Job notifications on the number.
        if company.marketing_suite and not method.marketing_updates:
            codes.append("no_marketing_updates")
    return codes + _customer_blocks(customer)


def _marketing_sms(
    company: CompanyConsent, customer: CustomerFacts, recipient: Recipient | None
) -> list[str]:
    codes, method = _mobile_target(recipient)
    if method is not None:
        if not method.marketing_updates:
            codes.append("no_marketing_updates")
        # TCPA (47 U.S.C. §227, 47 CFR 64.1200) and CTIA: marketing texts need the
        # recipient's own prior express written consent — status opted_in, set only by them.
        if method.marketing_sms_status != "opted_in":
            codes.append("no_marketing_sms_opt_in")
    return codes + _customer_blocks(customer)


_RULES = {
    "direct_mail": _direct_mail,
    "marketing_email": _marketing_email,
    "transactional_email": _transactional_email,
    "transactional_sms": _transactional_sms,
    "marketing_sms": _marketing_sms,
}


def default_marketing_updates(*, with_new_customer: bool) -> bool:
    """``marketing_updates`` of a new contact method: on when it is created with a new
    customer record, off when added later to an existing one (ServiceTitan FAQ; DESIGN.md
    "Defaults") — adding a number later is no sign the customer wants marketing."""
    return with_new_customer
