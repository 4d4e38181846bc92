"""smsgic_analytics: price, send and analyse SMS campaigns on the SMSgic API.

>>> import smsgic_analytics as sa
>>> sa.segments("Hello").segments
1
"""
from __future__ import annotations

from . import _deprecated

from .sending.campaign import Campaign, Preview, SendResult
from .client import Client, connect
from .core.config import Settings
from .core.errors import (APIConnectionError, AuthenticationError, ConfirmationRequiredError, DuplicateSendError,
    InsufficientBalanceError, InvalidRecipientsError, MissingTokenError, NotFoundError, RateLimitError,
    ServerError, SMSgicError, UnknownOutcomeError, ValidationError)
from .api.http import CacheInfo
from .core.money import format_money
from .lab.notebook import NotebookSession, notebook_session
from .numbers.normalize import normalize_number
from .numbers.classify import classify
from .numbers.samples import sample_numbers
from .text.advice import Advice, advise
from .text.segments import Segments, segments
from .text.counts import segment_counts
from .text.smart import smart_encode
from .audience.read import AudienceError, read_audience
from .pricing.estimate import (DaskEstimate, OfflineEstimate, RateTable, TemplateError, Totals, compare, estimate,
    fill_template)
from .pricing.quote import Quote
from .audience.recipients import Recipients, normalize_recipients
from .api.records import Balance
from .analytics.spend import spend_summary, spend_totals
from .core.readable import readable

__version__ = "0.1.0"

_deprecated.install()

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
