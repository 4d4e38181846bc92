"""smsgic_analytics: price, send and analyse SMS campaigns on the SMSgic API.

>>> import smsgic_analytics as sa
>>> sa.segments("Hello").segments
1
"""
from __future__ import annotations

from .errors import (
    APIConnectionError,
    AuthenticationError,
    ConfirmationRequiredError,
    DuplicateSendError,
    InsufficientBalanceError,
    InvalidRecipientsError,
    MissingTokenError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SMSgicError,
    UnknownOutcomeError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "AuthenticationError",
    "ConfirmationRequiredError",
    "DuplicateSendError",
    "InsufficientBalanceError",
    "InvalidRecipientsError",
    "MissingTokenError",
    "NotFoundError",
    "RateLimitError",
    "ServerError",
    "SMSgicError",
    "UnknownOutcomeError",
    "ValidationError",
]
