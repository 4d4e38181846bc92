"""smsgic_analytics: price, send and analyse SMS campaigns on the SMSgic API.

>>> import smsgic_analytics as sa
>>> sa.segments("Hello").segments
1
"""
from __future__ import annotations

from .client import Balance, Client, connect
from .config import Settings
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
from .http import CacheInfo
from .pricing.estimate import OfflineEstimate, RateTable, TemplateError, Totals, compare, estimate, fill_template
from .quote import Quote
from .recipients import Recipients, normalize_recipients

__version__ = "0.1.0"

__all__ = [
    # client
    "Balance",
    "CacheInfo",
    "Client",
    "Quote",
    "Recipients",
    "Settings",
    "connect",
    "normalize_recipients",
    # estimation
    "OfflineEstimate",
    "RateTable",
    "TemplateError",
    "Totals",
    "compare",
    "estimate",
    "fill_template",
    # errors
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
