"""The audit summary card the estimator shows before any send (``pricing.audit`` on its audience).

The account's history is the ledger's (what this account sent, per destination): no API call.
"""
from __future__ import annotations

import html
from typing import Any

import pandas as pd

from ..core import spec
from ..core.errors import SMSgicError
from ..pricing.audit import audit
from ..pricing.rate_table import RateTable


def account_history(client: Any) -> pd.DataFrame | None:
    """The destinations this account sent to (``Ledger.spent``), or None without a client/ledger."""
    ledger = getattr(client, "ledger", None)
    if ledger is None:
        return None
    return ledger.spent(client.settings.account)[1]


def audit_card(numbers: pd.Series, rates: RateTable | None, message: str, client: Any = None) -> str:
    """The audit's card for these numbers (cost if sent with ``message``), or '' with no numbers."""
    if not len(numbers):
        return ""
    try:
        history = account_history(client)
        text = None if spec.is_blank(message) or rates is None else message
        return audit(numbers, rates, text, history=history)._repr_html_()
    except (SMSgicError, ValueError, TypeError) as exc:  # the estimator still prices; the card says why not
        return f"<div><b>Audience audit</b>: not run ({html.escape(type(exc).__name__)}: {html.escape(str(exc))})</div>"
