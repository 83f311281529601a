"""What a campaign message says: template variables, rendering, the CAN-SPAM footer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldlink.accounts.models import Company
from fieldlink.campaigns import rules
from fieldlink.messaging.segments import count_segments
from fieldlink.messaging.templates import Rendered, render

# The variables a campaign template may use (shown in the API docs).
VARIABLES: dict[str, str] = {
    "company.name": "Company name",
    "company.phone": "Business phone",
    "company.website": "Company website",
    "company.logo_url": "Logo URL",
    "company.postal_address": "Company postal address",
    "customer.name": "Customer (account) name",
    "contact.name": "Contact's name",
    "contact.first_name": "Contact's first name (falls back to 'there')",
}


@dataclass(frozen=True)
class Recipient:
    customer_name: str
    contact_name: str | None


def variables(company: Company, recipient: Recipient) -> dict[str, Any]:
    name = recipient.contact_name or recipient.customer_name
    first = name.split()[0] if name.strip() else "there"
    return {
        "company": {
            "name": company.name,
            "phone": company.business_phone,
            "website": company.website,
            "logo_url": company.logo_url,
            "postal_address": company.postal_address,
        },
        "customer": {"name": recipient.customer_name},
        "contact": {"name": name, "first_name": first},
    }


SAMPLE = Recipient(customer_name="Maria Smith", contact_name="Maria Smith")


def render_campaign(
    company: Company, *, channel: str, subject: str | None, template: str, recipient: Recipient
) -> Rendered:
    """The message for one recipient; raises TemplateInvalid. Texts end with opt-out
    wording (CTIA); emails get their footer at delivery, where the unsubscribe link is."""
    out = render(
        subject,
        template,
        variables(company, recipient),
        channel="sms" if channel == "marketing_sms" else "email",
    )
    if channel == "marketing_sms":
        body = rules.with_opt_out(out.body)
        count = count_segments(body)
        return Rendered(None, body, count.segments, count.encoding)
    return out


def email_footer(company: Company, unsubscribe_url: str) -> str:
    """CAN-SPAM (15 U.S.C. §7704(a)(3), (a)(5)): a working opt-out and the sender's valid
    physical postal address in every commercial email."""
    return (
        f"{company.name} · {company.postal_address or ''}\n"
        f"You receive this email as a customer of {company.name}. "
        f"Unsubscribe: {unsubscribe_url}"
    )
