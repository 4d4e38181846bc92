"""Times as the API writes them, in one place.

The API's ``scheduled_at`` is naive ``Y-m-d H:i:s``; this toolkit treats it as UTC and says
so.  Everything else is an aware UTC datetime.

>>> format_scheduled_at("2026-12-01T10:00:00+01:00")
'2026-12-01 09:00:00'
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from . import spec
from .errors import ValidationError


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken as UTC (the project's rule for the API's naive times)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_scheduled_at(value: datetime | str | None) -> str | None:
    """``scheduled_at`` as the API takes it: ``Y-m-d H:i:s`` in UTC, or None for "now".

    Accepts a datetime or pandas Timestamp (aware -> converted to UTC; naive -> taken as UTC)
    or text in ``Y-m-d H:i:s`` or ISO-8601.  Anything else is a ``ValidationError`` naming
    ``scheduled_at`` and the value.
    """
    if value is None:
        return None
    parsed: Any = value
    if isinstance(value, str):
        try:
            parsed = datetime.strptime(value, spec.SCHEDULED_AT_FORMAT)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
    if not isinstance(parsed, datetime) or pd.isna(parsed):
        raise ValidationError(f"{spec.MSG_INVALID_SCHEDULED_AT} Got {value!r}",
                              field_errors={"scheduled_at": [spec.MSG_INVALID_SCHEDULED_AT]})
    return as_utc(parsed).strftime(spec.SCHEDULED_AT_FORMAT)


def format_instant(value: datetime | pd.Timestamp) -> str:
    """An instant as every message and table of this toolkit writes it: ``Y-m-d H:i:s`` in UTC
    (the API's own ``scheduled_at`` form; add " UTC" where a reader needs the zone)."""
    return as_utc(value).strftime(spec.SCHEDULED_AT_FORMAT)


def parse_scheduled_at(text: str) -> datetime:
    """``Y-m-d H:i:s`` (as ``format_scheduled_at`` writes it) -> aware UTC datetime."""
    return datetime.strptime(text, spec.SCHEDULED_AT_FORMAT).replace(tzinfo=UTC)
