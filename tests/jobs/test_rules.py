"""The pure rules of the jobs domain, as tables (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldlink.jobs import rules


@pytest.mark.parametrize(
    ("value", "card"),
    [
        ("4242424242424242", True),
        ("4242 4242 4242 4242", True),
        ("4242-4242-4242-4242", True),
        ("378282246310005", True),  # 15-digit Amex
        ("my card is 4000056655665556 thanks", True),
        ("123456789012", True),  # 12 digits, the shortest PAN
        ("pm_1NqJ2xLkdIwHu7ix", False),
        ("tok_visa", False),
        ("12345678901", False),  # 11 digits: a phone number, not a card
        ("+19195550142", False),
        ("12345678901234567890", False),  # 20 digits is longer than any PAN
        ("4242", False),
    ],
)
def test_card_numbers_are_recognised_with_or_without_separators(value: str, card: bool) -> None:
    assert rules.looks_like_card_number(value) is card


def test_the_card_number_finder_names_the_nested_field() -> None:
    data = {"token": "tok", "meta": {"notes": ["ok", "5555 5555 5555 4444"]}, "n": True}
    assert rules.find_card_number(data) == ("meta", "notes", 1)
    assert rules.find_card_number({"exp_year": 4242424242424242}) == ("exp_year",)
    assert rules.find_card_number({"token": "tok", "exp_year": 2030}) is None


def test_line_amounts_round_half_up_to_cents() -> None:
    line = rules.Line("Labor", Decimal("0.333"), Decimal("10.00"))
    assert line.amount == Decimal("3.33")
    assert rules.Line("x", Decimal("1"), Decimal("0.005")).amount == Decimal("0.01")
    assert rules.lines_total([]) == Decimal("0.00")


@given(
    st.lists(
        st.tuples(
            st.decimals("0.001", "1000", places=3),
            st.decimals("-1000", "1000", places=2),
        ),
        max_size=20,
    )
)
def test_a_total_is_the_sum_of_its_rounded_lines(items: list[tuple[Decimal, Decimal]]) -> None:
    lines = [rules.Line("x", q, p) for q, p in items]
    total = rules.lines_total(lines)
    assert total == sum((ln.amount for ln in lines), Decimal("0"))
    assert total == total.quantize(rules.CENT)


def test_the_balance_is_the_total_less_payments() -> None:
    assert rules.balance_after(Decimal("100"), [Decimal("40"), Decimal("60")]) == Decimal("0.00")
    assert rules.balance_after(Decimal("100"), []) == Decimal("100.00")


@pytest.mark.parametrize(
    ("current", "meaning", "latest", "expected"),
    [
        ("scheduled", "traveling", {1: "traveling", 2: None}, "in_progress"),
        ("scheduled", "working", {1: "working"}, "in_progress"),
        ("in_progress", "complete", {1: "complete", 2: "working"}, "in_progress"),
        ("in_progress", "complete", {1: "complete", 2: None}, "in_progress"),
        ("in_progress", "complete", {1: "complete", 2: "complete"}, "completed"),
        ("scheduled", "complete", {1: "complete"}, "completed"),
        ("scheduled", "pending", {1: "pending"}, "scheduled"),
        ("in_progress", "custom", {1: "custom"}, "in_progress"),
        ("cancelled", "working", {1: "working"}, "cancelled"),
        ("completed", "working", {1: "working"}, "in_progress"),  # a technician went back
    ],
)
def test_appointment_status_follows_the_technicians(
    current: str, meaning: str, latest: dict[int, str | None], expected: str
) -> None:
    assert (
        rules.appointment_status_after(
            current=current, meaning=meaning, latest_by_technician=latest
        )
        == expected
    )


@pytest.mark.parametrize(
    ("current", "appointments", "expected"),
    [
        ("open", ["scheduled"], "scheduled"),
        ("open", [], "open"),
        ("scheduled", ["completed", "in_progress"], "in_progress"),
        ("in_progress", ["completed", "cancelled"], "completed"),
        ("in_progress", ["completed", "scheduled"], "in_progress"),
        ("completed", ["completed", "scheduled"], "scheduled"),  # a follow-up visit booked
        ("scheduled", ["cancelled"], "scheduled"),
        ("cancelled", ["in_progress"], "cancelled"),
    ],
)
def test_job_status_follows_its_appointments(
    current: str, appointments: list[str], expected: str
) -> None:
    assert (
        rules.job_status_after_appointments(current=current, appointment_statuses=appointments)
        == expected
    )


@pytest.mark.parametrize(
    ("transitions", "current", "new", "ok"),
    [
        (rules.ESTIMATE_TRANSITIONS, "draft", "sent", True),
        (rules.ESTIMATE_TRANSITIONS, "draft", "approved", False),
        (rules.ESTIMATE_TRANSITIONS, "sent", "declined", True),
        (rules.ESTIMATE_TRANSITIONS, "approved", "declined", False),
        (rules.ESTIMATE_TRANSITIONS, "approved", "approved", True),
        (rules.INVOICE_TRANSITIONS, "draft", "void", True),
        (rules.INVOICE_TRANSITIONS, "sent", "draft", False),
        (rules.INVOICE_TRANSITIONS, "paid", "void", False),
    ],
)
def test_documents_move_only_along_their_transitions(
    transitions: dict[str, frozenset[str]], current: str, new: str, ok: bool
) -> None:
    assert rules.can_transition(transitions, current, new) is ok
