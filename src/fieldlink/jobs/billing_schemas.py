"""API shapes for estimates, invoices, payments and payment methods.

Money travels as decimal strings ("125.00") and is a ``Decimal`` in Python; a JSON float
is refused, because 0.1 + 0.2 is not 0.3 and an invoice must add up.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from fieldlink.accounts.schemas import Input
from fieldlink.jobs import rules

EstimateStatus = Literal["draft", "sent", "approved", "declined"]
InvoiceStatus = Literal["draft", "sent", "paid", "void"]
PaymentKind = Literal["card", "ach", "cash", "check", "other"]
Processor = Literal["test", "stripe"]

MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError('send money as a decimal string, like "125.00"')
    return value


def _cents(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a number")
    if value != value.quantize(rules.CENT):
        raise ValueError("money has at most two decimal places")
    if abs(value) > MAX_MONEY:
        raise ValueError("amount is too large")
    return value


def _quantity(value: Decimal) -> Decimal:
    if not value.is_finite() or value <= 0:
        raise ValueError("quantity must be greater than 0")
    if value != value.quantize(Decimal("0.001")) or value > Decimal("1000000"):
        raise ValueError("quantity has at most three decimal places and is under a million")
    return value


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("cannot be negative")
    return value


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than 0")
    return value


Money = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_cents)]
Total = Annotated[Money, AfterValidator(_not_negative)]
Amount = Annotated[Money, AfterValidator(_positive)]
Quantity = Annotated[Decimal, BeforeValidator(_no_float), AfterValidator(_quantity)]
MoneyOut = Annotated[Decimal, PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]


class LineIn(Input):
    description: str = Field(min_length=1, max_length=500)
    quantity: Quantity = Decimal("1")
    unit_price: Money


class LineOut(BaseModel):
    description: str
    quantity: str
    unit_price: str
    amount: str


class _Document(Input):
    customer_id: int | None = Field(None, description="defaults to the job's customer")
    job_id: int | None = None
    number: str | None = Field(None, min_length=1, max_length=40)
    lines: list[LineIn] = Field(default_factory=list, max_length=500)
    total: Total | None = Field(None, description="computed from lines when not given")


class EstimateIn(_Document):
    location_id: int | None = None
    description: str | None = Field(None, max_length=10_000)
    status: Literal["draft", "sent"] = "draft"


class EstimatePatch(Input):
    status: EstimateStatus | None = None
    description: str | None = Field(None, max_length=10_000)
    customer_comment: str | None = Field(None, max_length=10_000)


class EstimateOut(BaseModel):
    id: int
    number: str
    customer_id: int
    job_id: int | None
    location_id: int | None
    status: str
    description: str | None
    lines: list[LineOut]
    total: MoneyOut
    customer_comment: str | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime


class InvoiceIn(_Document):
    status: Literal["draft", "sent"] = "draft"
    due_date: date | None = None


class InvoicePatch(Input):
    status: InvoiceStatus | None = None
    due_date: date | None = None


class InvoiceOut(BaseModel):
    id: int
    number: str
    customer_id: int
    job_id: int | None
    status: str
    lines: list[LineOut]
    total: MoneyOut
    balance: MoneyOut
    due_date: date | None
    created_at: datetime
    updated_at: datetime


def _refuse_card_numbers(data: Any) -> Any:
    """Refuse a body carrying anything that looks like a card number, naming the field.

    Runs before field validation so even an unknown field ("card_number") gets this
    answer rather than "extra inputs are not permitted"; the value is never echoed.
    """
    location = rules.find_card_number(data)
    if location is not None:
        raise ValidationError.from_exception_data(
            "card number",
            [
                InitErrorDetails(
                    type=PydanticCustomError("card_number", rules.CARD_NUMBER_MESSAGE),
                    loc=location,
                    input="[redacted]",
                )
            ],
        )
    return data


class PaymentMethodIn(Input):
    customer_id: int
    processor: Processor = "test"
    token: str = Field(min_length=1, max_length=200)
    brand: str = Field(min_length=1, max_length=40)
    last4: str = Field(pattern=r"^\d{4}$", description="exactly four digits")
    exp_month: int | None = Field(None, ge=1, le=12)
    exp_year: int | None = Field(None, ge=2000, le=2100)

    @model_validator(mode="before")
    @classmethod
    def _no_card_numbers(cls, data: Any) -> Any:
        return _refuse_card_numbers(data)


class PaymentMethodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    processor: str
    token: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    created_at: datetime


class PaymentIn(Input):
    invoice_id: int
    amount: Amount
    kind: PaymentKind | None = Field(None, description="card when a payment method is given")
    payment_method_id: int | None = None
    processor_ref: str | None = Field(None, max_length=200)

    @model_validator(mode="before")
    @classmethod
    def _no_card_numbers(cls, data: Any) -> Any:
        return _refuse_card_numbers(data)


class PaymentOut(BaseModel):
    id: int
    customer_id: int
    invoice_id: int | None
    payment_method_id: int | None
    amount: MoneyOut
    kind: str
    status: str
    processor_ref: str | None
    received_at: datetime
