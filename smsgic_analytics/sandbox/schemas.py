"""Pydantic models that describe the wire format in /openapi.json.

They document; they do not validate.  The handlers answer with hand-built JSON (exact
Decimals, Laravel error shapes), so FastAPI's own validation never runs on a request.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..core import spec

Recipient = Annotated[str, Field(pattern=spec.RECIPIENT_RE.pattern)]


class Message(BaseModel):
    message: str = Field(examples=[spec.MSG_UNAUTHENTICATED])


class ValidationFailure(BaseModel):
    message: str = Field(examples=[spec.MSG_INVALID_DATA])
    errors: dict[str, list[str]]


class Balance(BaseModel):
    balance: str = Field(pattern=r"^-?\d+\.\d{3}$", examples=[spec.DEMO_BALANCE])
    sign: str = Field(examples=["£"])
    code: str = Field(examples=["GBP"])


class Sender(BaseModel):
    id: int = Field(examples=[45])
    sender: str = Field(examples=["MegaShop"])


class Senders(BaseModel):
    senders: list[Sender]


class Rate(BaseModel):
    mcc: str = Field(pattern=r"^\d{3}$", examples=["247"])
    mnc: str | None = Field(description="null: the country's default rate", examples=["01", None])
    country: str = Field(examples=["Latvia"])
    rate: float = Field(description="per SMS part, in the account currency, at most 4 decimals", examples=[0.4397])


class Rates(BaseModel):
    rates: list[Rate]


class CalculateRequest(BaseModel):
    message: str = Field(min_length=1, description="Text of sending SMS.")
    recipients: list[Recipient] = Field(min_length=1, description="Phone numbers; each must match /^\\d{8,20}$/.")


class NumberPrice(BaseModel):
    phone_number: int = Field(examples=[45879921])
    destination: str = Field(examples=["Denmark Telenor"], description='"Country Operator", or "Country " when the operator is unknown')
    sms: int
    rate: float
    total: float


class Destination(BaseModel):
    numbers: list[NumberPrice]
    destination: str
    sms_count: int
    price: float
    total: float


class CalculateInfo(BaseModel):
    sms_count: int
    subtotal: float
    total: float
    tax: float


class Calculation(BaseModel):
    info: CalculateInfo
    destinations: list[Destination]


class CalculateResponse(BaseModel):
    calculate: Calculation


class SendingRequest(BaseModel):
    message: str = Field(min_length=1, description="Text of sending SMS.")
    recipients: list[Recipient] | Annotated[str, Field(pattern=r"^\[\s*\S.*\]$")] = Field(
        description="Array of phone numbers (each /^\\d{8,20}$/), or that array JSON-encoded in a string."
    )
    sender: str = Field(min_length=1, description="Title of default or your account sender approved.",
                        examples=["MegaShop", "INFO"])
    scheduled_at: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$",
                                     description="Y-m-d H:i:s (UTC)", examples=["2023-08-22 09:03:42"])
    type: Literal[spec.SEND_TYPES] = spec.SEND_TYPES[0]  # type: ignore[valid-type]


class SendingCreated(BaseModel):
    message: str = Field(examples=[spec.MSG_SENDING_CREATED])
    sending_id: int = Field(examples=[458])


class SendingSummary(BaseModel):
    id: int
    text: str
    created_at: str = Field(examples=["2023-04-11T15:46:26.000000Z"])
    scheduled_at: str = Field(examples=["2023-04-11 15:46:26"])
    status: Literal[spec.STATUSES]  # type: ignore[valid-type]
    total_sms: int


class Sendings(BaseModel):
    sendings: list[SendingSummary]


class SendingStatus(BaseModel):
    id: int
    status: Literal[spec.STATUSES]  # type: ignore[valid-type]
    updated_at: str = Field(examples=["2023-04-11T15:46:26.000000Z"])
    scheduled_at: str = Field(examples=["2023-04-11 15:46:26"])


class SendingOut(BaseModel):
    sending: SendingStatus
