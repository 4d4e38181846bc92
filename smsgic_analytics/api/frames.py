"""API records -> tidy DataFrames with honest dtypes.  Pure functions, no I/O.

Conventions shared by every frame:

* ids and counts are ``int64``; codes that look like numbers but are not (MCC, MNC, phone
  numbers) are pandas ``"string"`` so leading zeros survive (MNC ``"05"``);
* timestamps are tz-aware UTC (``datetime64[us, UTC]``).  ``created_at``/``updated_at``
  carry a ``Z``; ``scheduled_at`` is naive in the API (``Y-m-d H:i:s``) and is *treated as UTC*;
* ``status`` is an ordered category in ``spec.STATUSES`` order (a status the docs do not
  list is appended, never turned into NaN);
* money is exact: rates are ``Decimal`` objects as the wire gave them (``money.parse_money``);
  charts turn them into floats for drawing, nothing else does.

Plain records too: ``Balance`` (the ``Quote`` record lives in ``pricing/quote.py``).

A record that lacks a required field raises ``ValueError`` naming the row and the field.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from ..core import spec
from ..core.display import card
from ..core.money import format_money, parse_money

UTC = "datetime64[us, UTC]"
SENDERS_COLUMNS = ["id", "sender"]
RATES_COLUMNS = ["mcc", "mnc", "is_default", "country", "rate", "currency"]
SENDINGS_COLUMNS = ["id", "text", "created_at", "scheduled_at", "status", "total_sms"]


def _column(records: Sequence[Mapping[str, Any]], field: str, what: str, *, required: bool = True) -> list[Any]:
    """One field of every record; a missing required field names its row."""
    values = []
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ValueError(f"{what}[{i}]: expected an object, got {type(record).__name__}")
        if required and field not in record:
            raise ValueError(f"{what}[{i}]: missing field {field!r}")
        values.append(record.get(field))
    return values


def _ints(values: list[Any], field: str, what: str) -> pd.Series:
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{what}[{i}].{field}: expected an integer, got {v!r}")
    return pd.Series(values, dtype="int64")


def utc_timestamps(values: Iterable[Any]) -> pd.Series:
    """ISO-8601 timestamps (``2023-04-11T15:46:26.000000Z``) -> UTC datetimes; None -> NaT."""
    return pd.Series(pd.to_datetime(pd.Series(list(values), dtype=object), utc=True, format="ISO8601")).astype(UTC)


def scheduled_timestamps(values: Iterable[Any]) -> pd.Series:
    """``Y-m-d H:i:s`` (naive in the API) -> datetimes *interpreted as UTC*; None -> NaT."""
    parsed = pd.to_datetime(pd.Series(list(values), dtype=object), format=spec.SCHEDULED_AT_FORMAT)
    return pd.Series(parsed).dt.tz_localize("UTC").astype(UTC)


def status_category(values: Iterable[Any]) -> pd.Series:
    """Statuses as an ordered category (spec order, unknown statuses appended, not lost)."""
    values = list(values)
    extra = sorted({v for v in values if v is not None and v not in spec.STATUSES})
    dtype = pd.CategoricalDtype(list(spec.STATUSES) + extra, ordered=True)
    return pd.Series(values, dtype=object).astype(dtype)


def senders_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``/senders`` -> DataFrame[id int64, sender string]."""
    return pd.DataFrame({
        "id": _ints(_column(records, "id", "senders"), "id", "senders"),
        "sender": pd.Series(_column(records, "sender", "senders"), dtype="string"),
    }, columns=SENDERS_COLUMNS)


def rates_frame(records: Sequence[Mapping[str, Any]], currency: str | None) -> pd.DataFrame:
    """``/rates`` -> DataFrame[mcc, mnc, is_default, country, rate, currency].

    ``mnc`` missing (JSON null) means the country's default rate: ``mnc`` is <NA> and
    ``is_default`` is True.  ``rate`` holds exact Decimals; the currency comes from /balance.
    """
    mnc = [None if m in (None, "", "null") else str(m) for m in _column(records, "mnc", "rates")]
    rates = [parse_money(r, f"rates[{i}].rate") for i, r in enumerate(_column(records, "rate", "rates"))]
    return pd.DataFrame({
        "mcc": pd.Series([str(m) for m in _column(records, "mcc", "rates")], dtype="string"),
        "mnc": pd.Series(mnc, dtype="string"),
        "is_default": pd.Series([m is None for m in mnc], dtype="bool"),
        "country": pd.Series(_column(records, "country", "rates"), dtype="category"),
        "rate": pd.Series(rates, dtype=object),
        "currency": pd.Series([currency] * len(records), dtype="string"),
    }, columns=RATES_COLUMNS)


def sendings_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """``/sendings`` -> DataFrame[id, text, created_at, scheduled_at, status, total_sms].

    ``created_at`` is UTC as sent; ``scheduled_at`` is naive in the API and treated as UTC.
    """
    return pd.DataFrame({
        "id": _ints(_column(records, "id", "sendings"), "id", "sendings"),
        "text": pd.Series(_column(records, "text", "sendings"), dtype="string"),
        "created_at": utc_timestamps(_column(records, "created_at", "sendings")),
        "scheduled_at": scheduled_timestamps(_column(records, "scheduled_at", "sendings", required=False)),
        "status": status_category(_column(records, "status", "sendings")),
        "total_sms": _ints(_column(records, "total_sms", "sendings"), "total_sms", "sendings"),
    }, columns=SENDINGS_COLUMNS)


def sending_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """``/sendings/{id}`` -> dict: id int, status str, updated_at and scheduled_at as UTC Timestamps.

    Fields the API adds beyond these are kept as they came.
    """
    if not isinstance(record, Mapping):
        raise ValueError(f"sending: expected an object, got {type(record).__name__}")
    for field in ("id", "status"):
        if field not in record:
            raise ValueError(f"sending: missing field {field!r}")
    out = dict(record)
    out["id"] = int(_ints([record["id"]], "id", "sending").iloc[0])
    if "updated_at" in record:
        out["updated_at"] = utc_timestamps([record["updated_at"]]).iloc[0]
    if "scheduled_at" in record:
        out["scheduled_at"] = scheduled_timestamps([record["scheduled_at"]]).iloc[0]
    return out


@dataclass(frozen=True)
class Balance:
    """The account balance: exact ``amount``, the currency ``sign`` (``£``) and ISO ``currency`` code."""

    amount: Decimal
    sign: str
    currency: str

    def __str__(self) -> str:
        return f"{self.sign}{self.amount} ({self.currency})"

    def _repr_html_(self) -> str:
        return card("Balance", [("Amount", html.escape(format_money(self.amount, self.currency)))])
