"""smsgic_analytics: price, send and analyse SMS campaigns on the SMSgic API.

The public surface, in the order data flows: numbers -> text -> audience -> price -> send ->
analyse -> show.  Everything else lives in the package of its stage (``docs/architecture.md``).

>>> import smsgic_analytics as sa
>>> sa.segments("Hello").segments
1
"""
from __future__ import annotations

from . import _deprecated
from .analytics.forecast import forecast
from .analytics.spend import spend_summary, spend_totals
from .audience.read import read_audience
from .audience.recipients import normalize_recipients
from .client import Client, connect
from .core import errors
from .core.config import Settings
from .core.display import readable
from .core.errors import (
    AuthenticationError,
    DuplicateSendError,
    InsufficientBalanceError,
    NotFoundError,
    RateLimitError,
    ServerError,
    SMSgicError,
    UnknownOutcomeError,
    ValidationError,
)
from .core.money import format_money
from .lab.notebook import notebook_session
from .numbers.classify import classify
from .numbers.samples import sample_numbers
from .pricing.accessor import register as _register_accessor
from .pricing.audit import audit
from .pricing.copies import compare_copies
from .pricing.estimate import compare, estimate
from .pricing.history import rate_changes, rate_history
from .pricing.quote import Quote
from .sending.campaign import Campaign
from .text.advice import advise
from .text.counts import segment_counts
from .text.segments import segments
from .text.smart import smart_encode
from .text.templates import fill_template

__version__ = "0.1.0"

_deprecated.install()
_register_accessor()  # df.sms / series.sms (pricing.accessor)

# Loaded on first use, to keep `import smsgic_analytics` quick: the apps and charts import ipywidgets and
# plotly (both required dependencies), pricing and sending do not.
_LAZY = {"CopyLab": "apps", "DashboardApp": "apps", "EstimatorApp": "apps", "RateExplorerApp": "apps", "SenderApp": "apps",
         "charts": "analytics"}


def __getattr__(name: str):  # PEP 562
    import importlib

    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name) if name != "charts" else importlib.import_module(".analytics.charts", __name__)
    return _deprecated.top_level(name)


__all__ = [
    # the account: one object an analyst holds
    "connect", "Client", "Settings",
    # numbers and text
    "classify", "sample_numbers", "segments", "segment_counts", "advise", "smart_encode", "fill_template",
    # audience
    "read_audience", "normalize_recipients", "audit",
    # price
    "estimate", "compare", "compare_copies", "Quote", "rate_history", "rate_changes",
    # send
    "Campaign",
    # analyse and show
    "spend_summary", "spend_totals", "forecast", "readable", "format_money", "charts",
    "CopyLab", "DashboardApp", "EstimatorApp", "RateExplorerApp", "SenderApp", "notebook_session",
    # errors (every one of them: sa.errors)
    "errors", "SMSgicError", "AuthenticationError", "ValidationError", "NotFoundError", "RateLimitError",
    "InsufficientBalanceError", "ServerError", "DuplicateSendError", "UnknownOutcomeError",
]
