"""The one recognisable layout every service email shares (brand colour, logo, footer)."""

from __future__ import annotations

import html
import re

from fieldlink.accounts.models import Company

_URL = re.compile(r"(https?://[^\s<]+)")


def _paragraph(block: str, colour: str) -> str:
    escaped = html.escape(block).replace("\n", "<br>")
    linked = _URL.sub(
        lambda m: f'<a href="{m.group(1)}" style="color:{colour}">{m.group(1)}</a>', escaped
    )
    return f'<p style="margin:0 0 16px">{linked}</p>'


def email_html(company: Company, text: str, *, footer: str | None = None) -> str:
    colour = html.escape(company.brand_color or "#1f2937")
    paragraphs = "".join(_paragraph(b, colour) for b in text.split("\n\n") if b.strip())
    name = html.escape(company.name)
    logo = (
        f'<img src="{html.escape(company.logo_url)}" alt="{name}" style="max-height:48px">'
        if company.logo_url
        else f"<strong>{name}</strong>"
    )
    contact = " · ".join(html.escape(x) for x in (company.business_phone, company.website) if x)
    extra = f"<p>{html.escape(footer)}</p>" if footer else ""
    return (
        '<!doctype html><html lang="en"><body style="margin:0;background:#f3f4f6;'
        'font-family:Arial,Helvetica,sans-serif;color:#111827">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr>'
        '<td align="center" style="padding:24px">'
        '<table role="presentation" width="600" style="max-width:600px;background:#ffffff;'
        f'border-top:6px solid {colour};border-radius:6px">'
        f'<tr><td style="padding:24px">{logo}</td></tr>'
        f'<tr><td style="padding:0 24px 8px;font-size:16px;line-height:1.5">{paragraphs}</td></tr>'
        '<tr><td style="padding:16px 24px;font-size:12px;color:#4b5563">'
        f"{name}<br>{contact}{extra}</td></tr>"
        "</table></td></tr></table></body></html>"
    )
