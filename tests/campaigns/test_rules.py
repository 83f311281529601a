"""Pure campaign rules: quiet hours, opt-out wording, throttle slots, label layout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fieldlink.campaigns import rules
from fieldlink.campaigns.rules import QuietHours, allowed_window, next_allowed, with_opt_out
from fieldlink.messaging.segments import count_segments


def test_every_marketing_text_ends_with_opt_out_wording() -> None:
    # CTIA Messaging Principles 5.1: each marketing message says how to opt out.
    assert with_opt_out("20% off tune-ups this week!") == (
        "20% off tune-ups this week! Reply STOP to opt out."
    )
    assert with_opt_out("Sale! Reply STOP to end.") == "Sale! Reply STOP to end."
    assert with_opt_out("") == "Reply STOP to opt out."


@pytest.mark.parametrize(
    ("utc", "zone", "expected"),
    [
        # 13:00 UTC = 08:00 in New York (EST): allowed.
        (datetime(2026, 12, 1, 13, 0, tzinfo=UTC), "America/New_York", None),
        # 12:59 UTC = 07:59 New York: wait until 08:00 local the same day.
        (
            datetime(2026, 12, 1, 12, 59, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
        ),
        # 02:30 UTC Dec 2 = 21:30 Dec 1 New York: next morning 08:00.
        (
            datetime(2026, 12, 2, 2, 30, tzinfo=UTC),
            "America/New_York",
            datetime(2026, 12, 2, 13, 0, tzinfo=UTC),
        ),
        # The same instant is 18:30 in Los Angeles: allowed there.
        (datetime(2026, 12, 2, 2, 30, tzinfo=UTC), "America/Los_Angeles", None),
    ],
)
def test_quiet_hours_follow_the_recipients_local_time(
    utc: datetime, zone: str, expected: datetime | None
) -> None:
    # TCPA, 47 CFR 64.1200(c)(1): no solicitation before 8 am or after 9 pm, called party's time.
    assert next_allowed(utc, zone, QuietHours()) == expected


def test_florida_and_oklahoma_texts_stop_at_eight_pm() -> None:
    # Fla. Stat. 501.059(8)(a); Okla. 15 O.S. 775C.4: 8 am to 8 pm.
    at_2030_eastern = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
    nc = allowed_window(QuietHours(), "NC")
    assert next_allowed(at_2030_eastern, "America/New_York", nc) is None
    fl = allowed_window(QuietHours(), "FL")
    assert fl == QuietHours("08:00", "20:00")
    assert next_allowed(at_2030_eastern, "America/New_York", fl) == datetime(
        2026, 12, 2, 13, 0, tzinfo=UTC
    )
    assert allowed_window(QuietHours(), "Oklahoma").end == "20:00"


def test_a_company_can_narrow_but_not_widen_the_legal_window() -> None:
    assert allowed_window(QuietHours("09:00", "18:00"), None) == QuietHours("09:00", "18:00")
    assert allowed_window(QuietHours("06:00", "23:00"), None) == QuietHours("08:00", "21:00")


def test_throttle_slots_put_at_most_the_rate_in_each_minute() -> None:
    slots = [rules.slot_seconds(i, 7) for i in range(30)]
    per_minute: dict[int, int] = {}
    for s in slots:
        per_minute[s // 60] = per_minute.get(s // 60, 0) + 1
    assert max(per_minute.values()) == 7 and slots == sorted(slots)
    assert rules.slot_seconds(0, 600) == 0 and rules.slot_seconds(600, 600) == 60


def test_avery_5160_geometry_three_columns_ten_rows_per_letter_page() -> None:
    page, x, y = rules.label_origin(0)
    assert (page, x, y) == (0, 13.5, 792 - 36 - 72)
    assert rules.label_origin(2)[1] == pytest.approx(13.5 + 2 * (189 + 9))
    assert rules.label_origin(29)[2] == pytest.approx(36)  # the bottom row sits on the margin
    assert rules.label_origin(30)[0] == 1
    right_edge = rules.label_origin(2)[1] + rules.LABEL_WIDTH
    assert right_edge == pytest.approx(612 - 13.5)  # symmetric side margins


def test_segment_counting_for_unicode_texts() -> None:
    assert count_segments(with_opt_out("Tune-up ☀️ special")).encoding == "UCS-2"


def test_florida_and_oklahoma_numbers_get_at_most_three_marketing_texts_a_day() -> None:
    # Fla. Stat. 501.059(8)(b); 15 O.S. 775C.4: no more than 3 in 24 hours.
    now = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    sent = [now - timedelta(hours=h) for h in (1, 5, 20, 30)]
    assert rules.capped_until("FL", sent, now) == now - timedelta(hours=20) + timedelta(hours=24)
    assert rules.capped_until("Oklahoma", sent[:2], now) is None
    assert rules.capped_until("NC", sent, now) is None
