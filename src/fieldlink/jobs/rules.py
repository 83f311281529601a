"""Pure rules of the jobs domain: appointment status from dispatch events, money and
document transitions. Plain values in, decisions out; no database, no clock."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

# A run of 12-19 digits, once spaces and dashes are removed, is what a primary account
# number looks like (ISO/IEC 7812). We refuse it outright rather than try Luhn: a token
# or reference never needs such a run, and a false refusal costs less than a stored PAN.
_SEPARATORS = re.compile(r"[\s\-]")
_PAN = re.compile(r"(?<!\d)\d{12,19}(?!\d)")
CARD_NUMBER_MESSAGE = "card numbers must never be sent; send the processor token"

IN_PROGRESS_MEANINGS = frozenset({"traveling", "working"})

ESTIMATE_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"sent"}),
    "sent": frozenset({"approved", "declined"}),
    "approved": frozenset(),
    "declined": frozenset(),
}
# "paid" is reached by recording payments, never by hand: the balance is the truth.
INVOICE_TRANSITIONS: Mapping[str, frozenset[str]] = {
    "draft": frozenset({"sent", "void"}),
    "sent": frozenset({"void"}),
    "paid": frozenset(),
    "void": frozenset(),
}
# Once the customer holds an invoice, its PO number is what their books match on.
PO_LOCKING_INVOICE_STATUSES = ("sent", "paid")


def looks_like_card_number(value: str) -> bool:
    return _PAN.search(_SEPARATORS.sub("", value)) is not None


def find_card_number(data: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """The location of the first value in ``data`` (nested dicts/lists, strings or
    integers) that looks like a card number, or None."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            found = find_card_number(value, (*path, str(key)))
            if found is not None:
                return found
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            found = find_card_number(value, (*path, index))
            if found is not None:
                return found
    elif (
        isinstance(data, str | int)
        and not isinstance(data, bool)
        and looks_like_card_number(str(data))
    ):
        return path or ("body",)
    return None


def money(value: Decimal) -> Decimal:
    """Round to cents the way invoices do (half up, not banker's rounding)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Line:
    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return money(self.quantity * self.unit_price)


def lines_total(lines: Iterable[Line]) -> Decimal:
    return money(sum((line.amount for line in lines), Decimal("0")))


def balance_after(total: Decimal, succeeded_payments: Iterable[Decimal]) -> Decimal:
    return money(total - sum(succeeded_payments, Decimal("0")))


def can_transition(transitions: Mapping[str, frozenset[str]], current: str, new: str) -> bool:
    return new == current or new in transitions.get(current, frozenset())


def appointment_status_after(
    *, current: str, meaning: str, latest_by_technician: Mapping[int, str | None]
) -> str:
    """The appointment's status once a technician's dispatch status has ``meaning``.

    ``latest_by_technician`` maps every assigned technician to the meaning of their latest
    status (including the new one), None when they have none yet. Traveling or working
    puts the visit in progress; it is completed only when every assigned technician is
    complete. A cancelled appointment stays cancelled; pending and custom codes change
    nothing.
    """
    if current == "cancelled":
        return current
    if meaning in IN_PROGRESS_MEANINGS:
        return "in_progress"
    if meaning == "complete":
        everyone = latest_by_technician.values()
        if everyone and all(m == "complete" for m in everyone):
            return "completed"
        return "in_progress"
    return current


def job_status_after_appointments(*, current: str, appointment_statuses: Iterable[str]) -> str:
    """The job's status derived from its appointments; a cancelled job stays cancelled.

    Any visit under way makes the job in progress; when every live (not cancelled) visit
    is completed the job is completed; a job with live visits that is still open becomes
    scheduled.
    """
    if current == "cancelled":
        return current
    live = [s for s in appointment_statuses if s != "cancelled"]
    if not live:
        return current
    if any(s == "in_progress" for s in live):
        return "in_progress"
    if all(s == "completed" for s in live):
        return "completed"
    if current in ("open", "completed"):
        return "scheduled"
    return current
