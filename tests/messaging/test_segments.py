"""SMS segment counts, as carriers bill them (3GPP TS 23.038)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fieldlink.messaging.segments import GSM7_BASIC, count_segments


def test_plain_text_up_to_160_characters_is_one_gsm7_segment() -> None:
    c = count_segments("a" * 160)
    assert (c.encoding, c.segments) == ("GSM-7", 1)
    assert count_segments("a" * 161).segments == 2  # split segments hold 153
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3


def test_extension_characters_take_two_septets() -> None:
    c = count_segments("€" * 80)
    assert (c.encoding, c.units, c.segments) == ("GSM-7", 160, 1)
    assert count_segments("€" * 81).segments == 2


def test_one_emoji_turns_the_whole_text_into_ucs2() -> None:
    c = count_segments("Your tech is on the way 🚐")
    assert c.encoding == "UCS-2" and c.units == 26  # the van is two UTF-16 code units
    assert count_segments("ñ" * 70).encoding == "GSM-7"  # ñ is in the GSM-7 basic set
    assert count_segments("á" * 70).encoding == "UCS-2"  # á is not
    assert count_segments("á" * 70).segments == 1
    assert count_segments("á" * 71).segments == 2


def test_empty_body_is_zero_segments() -> None:
    assert count_segments("").segments == 0


@given(st.text(alphabet=GSM7_BASIC, max_size=1000))
def test_gsm7_segments_hold_160_or_153(body: str) -> None:
    c = count_segments(body)
    assert c.encoding == "GSM-7"
    if len(body) <= 160:
        assert c.segments == (1 if body else 0)
    else:
        assert (c.segments - 1) * 153 < len(body) <= c.segments * 153
