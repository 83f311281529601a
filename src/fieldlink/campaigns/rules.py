"""Pure campaign rules: quiet hours, SMS opt-out wording, throttle slots, label layout.

No database, no clock: callers pass ``now`` and plain values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# TCPA (47 CFR 64.1200(c)(1)): no telephone solicitation before 8 am or after 9 pm at the
# called party's location. Florida (Fla. Stat. 501.059(8)(a), "mini-TCPA") and Oklahoma
# (Telephone Solicitation Act, 15 O.S. 775C.4) end at 8 pm.
FEDERAL_QUIET_HOURS = ("08:00", "21:00")
EARLY_END_STATES = {"FL": "20:00", "FLORIDA": "20:00", "OK": "20:00", "OKLAHOMA": "20:00"}

OPT_OUT_TEXT = "Reply STOP to opt out."
_HAS_OPT_OUT = re.compile(r"\b(reply|text|send)\s+stop\b", re.IGNORECASE)


def with_opt_out(body: str) -> str:
    """CTIA Messaging Principles 5.1: every marketing text tells how to opt out. A body
    that already says "Reply STOP…" is left alone; otherwise the instruction is appended."""
    body = body.rstrip()
    if _HAS_OPT_OUT.search(body):
        return body
    return f"{body} {OPT_OUT_TEXT}" if body else OPT_OUT_TEXT


def _hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class QuietHours:
    """The window texts may go in, local time: ``start`` ≤ t < ``end``."""

    start: str = FEDERAL_QUIET_HOURS[0]
    end: str = FEDERAL_QUIET_HOURS[1]


def allowed_window(company: QuietHours, state: str | None) -> QuietHours:
    """The company's window, narrowed to the law's: never earlier than 08:00, never later
    than 21:00 (20:00 in Florida and Oklahoma)."""
    latest_end = EARLY_END_STATES.get((state or "").strip().upper(), FEDERAL_QUIET_HOURS[1])
    start = max(company.start, FEDERAL_QUIET_HOURS[0])
    end = min(company.end, latest_end)
    return QuietHours(start, end)


def next_allowed(now: datetime, zone: str, window: QuietHours) -> datetime | None:
    """None if a marketing text may go at ``now`` in time zone ``zone``; else the next
    moment (UTC) it may. An unknown zone falls back to US Eastern, the common case."""
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("America/New_York")
    local = now.astimezone(tz)
    start, end = _hhmm(window.start), _hhmm(window.end)
    if start >= end:  # a nonsensical window sends nothing rather than at night
        start, end = _hhmm(FEDERAL_QUIET_HOURS[0]), _hhmm(FEDERAL_QUIET_HOURS[1])
    if start <= local.time() < end:
        return None
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    opens = datetime.combine(day, start, tzinfo=tz)
    return opens.astimezone(UTC)


# Florida (Fla. Stat. 501.059(8)(b)) and Oklahoma (15 O.S. 775C.4): at most three
# marketing texts to a number in any 24 hours on the same subject.
DAILY_CAP_STATES = {"FL", "FLORIDA", "OK", "OKLAHOMA"}
DAILY_CAP = 3


def capped_until(state: str | None, sent: list[datetime], now: datetime) -> datetime | None:
    """When the next marketing text to a capped state's number may go, given when the
    earlier ones were sent; None if it may go now (or the state has no cap)."""
    if (state or "").strip().upper() not in DAILY_CAP_STATES:
        return None
    recent = sorted(t for t in sent if now - t < timedelta(hours=24))
    if len(recent) < DAILY_CAP:
        return None
    return recent[-DAILY_CAP] + timedelta(hours=24)


def slot_seconds(position: int, per_minute: int) -> int:
    """Whole seconds after the campaign's start at which message ``position`` (0-based)
    may go, so no minute carries more than ``per_minute`` messages."""
    return (position // per_minute) * 60 + ((position % per_minute) * 60) // per_minute


# Avery 5160 / 8160: US letter, 3 columns × 10 rows of 2.625" × 1" labels; top and bottom
# margins 0.5", side margins 0.1875", 0.125" between columns, none between rows.
POINTS_PER_INCH = 72
LABEL_WIDTH = 2.625 * POINTS_PER_INCH
LABEL_HEIGHT = 1.0 * POINTS_PER_INCH
PAGE_WIDTH = 8.5 * POINTS_PER_INCH
PAGE_HEIGHT = 11.0 * POINTS_PER_INCH
LEFT_MARGIN = 0.1875 * POINTS_PER_INCH
TOP_MARGIN = 0.5 * POINTS_PER_INCH
COLUMN_GAP = 0.125 * POINTS_PER_INCH
COLUMNS, ROWS = 3, 10
LABELS_PER_PAGE = COLUMNS * ROWS


def label_origin(index: int) -> tuple[int, float, float]:
    """(page, x, y) of label ``index``'s lower-left corner, in PDF points (origin at the
    page's lower left), filling each page row by row."""
    page, within = divmod(index, LABELS_PER_PAGE)
    row, column = divmod(within, COLUMNS)
    x = LEFT_MARGIN + column * (LABEL_WIDTH + COLUMN_GAP)
    y = PAGE_HEIGHT - TOP_MARGIN - (row + 1) * LABEL_HEIGHT
    return page, x, y
