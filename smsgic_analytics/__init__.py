"""smsgic_analytics: price, send and analyse SMS campaigns on the SMSgic API.

>>> import smsgic_analytics as sa
>>> sa.segments("Hello").segments
1
"""
from __future__ import annotations

from .campaign import Campaign, Preview, SendResult
from .client import Client, connect
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
from .money import format_money
from .notebook import NotebookSession, notebook_session
from .phone import normalize_number
from .pricing.numbering import classify, sample_numbers
from .pricing.segments import Advice, Segments, advise, segment_counts, segments, smart_encode
from .audience import AudienceError, read_audience
from .pricing.estimate import (DaskEstimate, OfflineEstimate, RateTable, TemplateError, Totals, compare, estimate,
                               fill_template)
from .quote import Quote
from .recipients import Recipients, normalize_recipients
from .records import Balance
from .spend import spend_summary, spend_totals
from .tables import readable

__version__ = "0.1.0"

# The ipywidgets apps load on first use (ipywidgets and plotly are not needed to price or send).
_APPS = ("DashboardApp", "EstimatorApp", "RateExplorerApp", "SenderApp")


def __getattr__(name: str):  # PEP 562
    if name in _APPS:
        from . import apps

        return getattr(apps, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    # client
    "Balance",
    "CacheInfo",
    "Client",
    "Quote",
    "Recipients",
    "Settings",
    "connect",
    "normalize_number",
    "normalize_recipients",
    # safe sending and spend
    "Campaign",
    "Preview",
    "SendResult",
    "spend_summary",
    "spend_totals",
    # tables for reading
    "format_money",
    "readable",
    # notebooks
    "NotebookSession",
    "notebook_session",
    # segments and numbering
    "Advice",
    "Segments",
    "advise",
    "classify",
    "sample_numbers",
    "segment_counts",
    "segments",
    "smart_encode",
    # estimation
    "AudienceError",
    "DaskEstimate",
    "OfflineEstimate",
    "RateTable",
    "TemplateError",
    "Totals",
    "compare",
    "estimate",
    "fill_template",
    "read_audience",
    # apps (loaded on first use)
    "DashboardApp",
    "EstimatorApp",
    "RateExplorerApp",
    "SenderApp",
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
