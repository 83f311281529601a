"""SMS segment counting (3GPP TS 23.038): GSM-7 when every character fits, else UCS-2.

GSM-7: 160 septets in one segment, 153 per segment when split (the rest is the UDH);
characters of the extension table (e.g. ``€``, ``{``) take two septets. UCS-2: 70 UTF-16
code units in one segment, 67 when split; an emoji is two code units.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENDED = frozenset(GSM7_EXTENDED)
_GSM7 = _BASIC | _EXTENDED


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    per_segment: int


def count_segments(body: str) -> SegmentCount:
    chars = set(body)  # set algebra: a bulk send counts segments for every message
    if chars <= _GSM7:
        units = len(body) + sum(body.count(c) for c in chars & _EXTENDED)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units <= single:
        return SegmentCount(encoding, 1 if units else 0, units, single)
    return SegmentCount(encoding, -(-units // multi), units, multi)
