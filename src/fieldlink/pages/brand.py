"""A company's brand on its customer pages: name, logo, website and an accessible colour."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fieldlink.accounts.models import Company

DEFAULT_COLOR = "#1f5f8b"
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _luminance(color: str) -> float:
    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.x contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever reads better on ``background``."""
    return (
        "#000000"
        if contrast_ratio(background, "#000000") >= contrast_ratio(background, "#ffffff")
        else "#ffffff"
    )


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str | None
    website: str | None
    color: str
    on_color: str

    @classmethod
    def of(cls, company: Company) -> Brand:
        color = (
            company.brand_color
            if company.brand_color and _HEX.match(company.brand_color)
            else DEFAULT_COLOR
        )
        return cls(
            name=company.name,
            logo_url=company.logo_url,
            website=company.website,
            color=color.lower(),
            on_color=text_on(color),
        )
