"""Input rules of the test controls: every value range-checked, a 422 naming the field.

The controls drive the clock, faults and balances, which the API endpoints then compute
with; a value out of these ranges (a clock in year 9999, a 1e308-second jump, a balance
too big for SQLite's INTEGER) would make those endpoints fail.  So each field is checked
here, where it arrives, and refused as ``validation.Invalid`` -- the API's own
``{"message": ..., "errors": {field: [text]}}`` shape.
"""
from __future__ import annotations

import math
import re
import secrets
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from .faults import KINDS, Fault
from .lifecycle import EARLIEST, LATEST, parse_instant
from .ratecard import RATE_QUANTUM, RateCard, RateKey, scaled_rate
from .validation import Invalid

MAX_ADVANCE_SECONDS = 100 * 36525 * 864  # 100 years of 365.25 days: 3,155,760,000 s
MAX_FAULT_COUNT = 1_000_000
MAX_QUEUED_FAULTS = 100
MAX_LATENCY_SECONDS = 600
MAX_RETRY_AFTER_SECONDS = 86_400
FAULT_STATUSES = (400, 599)
MAX_PATH_CHARS = 2_048
MAX_TOKEN_CHARS = 256
MAX_BALANCE = Decimal(1_000_000_000)  # GBP; far below SQLite's 2**63 ten-thousandths
BALANCE_DECIMALS = 4
MAX_RATE = Decimal(1_000)  # GBP per SMS: 255 parts x 100,000 numbers x 1,000 stays far inside int64 units
MIN_FACTOR, MAX_FACTOR = Decimal("0.001"), Decimal(100)
FACTOR_DECIMALS = 8  # with rates <= 1,000.0000 the product has <= 19 digits: exact in Decimal's 28
_METHOD_RE = re.compile(r"[A-Za-z]{1,16}", re.ASCII)
_MCC_RE = re.compile(r"\d{3}", re.ASCII)
_MNC_RE = re.compile(r"\d{2,3}", re.ASCII)
_COUNTRY_ID_RE = re.compile(r"\d{1,9}", re.ASCII)  # bounded: int() of 5,000 digits raises
_ISO = "%Y-%m-%dT%H:%M:%SZ"
_CENTIMILLS = Decimal(1).scaleb(-BALANCE_DECIMALS)  # 0.0001, the money unit


def _refuse(field: str, text: str) -> Invalid:
    return Invalid({field: [text]})


def _number(value: Any, field: str, low: float, high: float, *, integer: bool = False) -> float:
    """``value`` as a finite number (a numeric string too) within [low, high]; ints stay exact."""
    kind = "an integer" if integer else "a number"
    text = f"The {field} must be {kind} between {low:.15g} and {high:.15g}."
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _refuse(field, text)
    if isinstance(value, int):
        if not low <= value <= high:  # compared as an int: 10**400 never becomes a float
            raise _refuse(field, text)
        return value
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise _refuse(field, text) from None
    if not math.isfinite(number) or not low <= number <= high or (integer and not number.is_integer()):
        raise _refuse(field, text)
    return int(number) if integer else number


def _optional_number(body: Mapping[str, Any], field: str, low: float, high: float, *,
                     integer: bool = False) -> float | None:
    value = body.get(field)
    return None if value is None else _number(value, field, low, high, integer=integer)


_CLOCK_RANGE = f"{EARLIEST:{_ISO}} and {LATEST:{_ISO}}"


def clock_target(body: Mapping[str, Any], field: str = "now") -> datetime:
    """``{"now": ISO-8601}`` -> the instant, within the clock's range (``field`` names it in a refusal)."""
    value = body.get("now")
    try:
        if not isinstance(value, str):
            raise ValueError
        instant = parse_instant(value)
    except (ValueError, OverflowError):
        raise _refuse(field, f"The {field} must be an ISO-8601 instant such as 2024-01-01T12:00:00Z.") from None
    if not EARLIEST <= instant <= LATEST:
        raise _refuse(field, f"The {field} must be between {_CLOCK_RANGE}.")
    return instant


def advance_seconds(body: Mapping[str, Any], now: datetime) -> float:
    """``{"seconds": x}`` -> x, finite, at most 100 years, landing within the clock's range."""
    seconds = _number(body.get("seconds"), "seconds", -MAX_ADVANCE_SECONDS, MAX_ADVANCE_SECONDS)
    if not EARLIEST <= now + timedelta(seconds=seconds) <= LATEST:
        raise _refuse("seconds", f"The seconds must keep the clock between {_CLOCK_RANGE}.")
    return seconds


def offset_seconds(body: Mapping[str, Any], wall: datetime) -> float:
    """``{"seconds": x}`` -> x for a clock running x seconds off wall time ``wall``: finite, at
    most 100 years either way, and landing within the clock's range."""
    seconds = _number(body.get("seconds"), "seconds", -MAX_ADVANCE_SECONDS, MAX_ADVANCE_SECONDS)
    if not EARLIEST <= wall + timedelta(seconds=seconds) <= LATEST:
        raise _refuse("seconds", f"The seconds must keep the clock between {_CLOCK_RANGE}.")
    return seconds


def fault_from(body: Mapping[str, Any], queued: int) -> Fault:
    """A ``Fault`` from the control body, each field checked; refused past MAX_QUEUED_FAULTS."""
    kind = body.get("kind")
    if kind not in KINDS:
        raise _refuse("kind", f"The kind must be one of {', '.join(KINDS)}.")
    if queued >= MAX_QUEUED_FAULTS:
        raise _refuse("faults", f"The faults queue holds at most {MAX_QUEUED_FAULTS} faults; clear some first.")
    path = body.get("path")
    if path is not None and not (isinstance(path, str) and path.startswith("/") and len(path) <= MAX_PATH_CHARS):
        raise _refuse("path", f"The path must start with '/' and be at most {MAX_PATH_CHARS} characters.")
    method = body.get("method")
    if method is not None and not (isinstance(method, str) and _METHOD_RE.fullmatch(method)):
        raise _refuse("method", "The method must be an HTTP method such as GET or POST.")
    count = int(_number(body.get("count", 1), "count", 1, MAX_FAULT_COUNT, integer=True))
    status = _optional_number(body, "status", *FAULT_STATUSES, integer=True)
    if kind == "status" and status is None:
        raise _refuse("status", f"A 'status' fault needs a status between {FAULT_STATUSES[0]} and {FAULT_STATUSES[1]}.")
    retry_after = _optional_number(body, "retry_after", 0, MAX_RETRY_AFTER_SECONDS)
    seconds = _optional_number(body, "seconds", 0, MAX_LATENCY_SECONDS)
    if kind == "latency" and seconds is None:
        raise _refuse("seconds", f"A 'latency' fault needs seconds between 0 and {MAX_LATENCY_SECONDS}.")
    exact = body.get("exact", False)
    if not isinstance(exact, bool):
        raise _refuse("exact", "The exact field must be true or false.")
    return Fault(kind=kind, path=path, method=method, count=count,
                 status=None if status is None else int(status), retry_after=retry_after, seconds=seconds,
                 exact=exact)


def account_from(body: Mapping[str, Any], default_balance: str | None,
                 admin_token: str | None = None) -> tuple[str, str]:
    """(token, balance text): a bounded token that is not the admin token, and a balance
    that is exact money (at most 4 decimals), non-negative and at most MAX_BALANCE."""
    token = body.get("token")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise _refuse("token", f"The token must be a string of 1 to {MAX_TOKEN_CHARS} characters.")
    if admin_token and secrets.compare_digest(token.encode("utf-8", "surrogatepass"), admin_token.encode()):
        raise _refuse("token", "The token must not be the admin token.")
    raw = body.get("balance", default_balance)
    text = f"The balance must be a decimal between 0 and {MAX_BALANCE} with at most {BALANCE_DECIMALS} decimals."
    if raw is None or isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise _refuse("balance", text)
    try:
        balance = Decimal(str(raw))
    except InvalidOperation:
        raise _refuse("balance", text) from None
    # Range first: quantizing 1E+999999999 would not fit; exactness after (0.45000 is fine).
    if not (balance.is_finite() and 0 <= balance <= MAX_BALANCE) or balance != balance.quantize(_CENTIMILLS):
        raise _refuse("balance", text)
    return token, str(balance.quantize(_CENTIMILLS))


def _decimal(raw: Any, field: str, text: str) -> Decimal:
    """``raw`` (a JSON string or number) as a finite Decimal, else a 422 on ``field``."""
    if raw is None or isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise _refuse(field, text)
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise _refuse(field, text) from None
    if not value.is_finite():
        raise _refuse(field, text)
    return value


def _rate_value(raw: Any) -> Decimal:
    """A rate: exact money (at most 4 decimals) from 0.0001 to MAX_RATE."""
    text = f"The rate must be a decimal between {RATE_QUANTUM} and {MAX_RATE} with at most {BALANCE_DECIMALS} decimals."
    rate = _decimal(raw, "rate", text)
    # Range first: quantizing 1E+999999999 would not fit; exactness after (0.0600 is fine).
    if not RATE_QUANTUM <= rate <= MAX_RATE or rate != rate.quantize(RATE_QUANTUM):
        raise _refuse("rate", text)
    return rate.quantize(RATE_QUANTUM)


def _rate_row(body: Mapping[str, Any], card: RateCard) -> RateKey:
    """The one row ``{"mcc", "mnc", "country_id"?}`` names on ``card``."""
    mcc = body.get("mcc")
    if not isinstance(mcc, str) or not _MCC_RE.fullmatch(mcc):
        raise _refuse("mcc", "The mcc must be a string of 3 digits.")
    if "mnc" not in body:
        raise _refuse("mnc", "The mnc field is required: 2 or 3 digits, or null for the country default row.")
    mnc = body["mnc"]
    if mnc is not None and not (isinstance(mnc, str) and _MNC_RE.fullmatch(mnc)):
        raise _refuse("mnc", "The mnc must be a string of 2 or 3 digits, or null for the country default row.")
    raw_id = body.get("country_id")
    country_id = None
    if raw_id is not None:
        text = str(raw_id) if isinstance(raw_id, (int, str)) and not isinstance(raw_id, bool) else ""
        if not _COUNTRY_ID_RE.fullmatch(text) or int(text) not in card.country_ids:
            raise _refuse("country_id", "The selected country id is invalid.")
        country_id = int(text)
    same_mcc = [r for r in card.rows if r.mcc == mcc]
    if not same_mcc:
        raise _refuse("mcc", f"The selected mcc is invalid: no rate row has mcc {mcc}.")
    rows = [r for r in same_mcc if r.mnc == mnc]
    if not rows:
        wanted = "a country default row" if mnc is None else f"mnc {mnc}"
        raise _refuse("mnc", f"The selected mnc is invalid: mcc {mcc} has no rate row with {wanted}.")
    if country_id is not None:
        rows = [r for r in rows if r.country_id == country_id]
        if not rows:
            raise _refuse("country_id", f"The selected country id is invalid: country {country_id} has no rate "
                                        f"row with mcc {mcc} and mnc {'null' if mnc is None else mnc}.")
    if len(rows) > 1:
        choices = ", ".join(f"{r.country_id} ({r.country})" for r in rows)
        raise _refuse("country_id", f"The country id field is required: countries {choices} share mcc {mcc}.")
    return rows[0].key


def rate_changes_from(body: Mapping[str, Any], card: RateCard) -> dict[RateKey, Decimal]:
    """The new rates a ``PUT /__sandbox__/rates`` body asks for, as {row key: rate}.

    ``{"mcc", "mnc", "rate", "country_id"?}``: one row (mnc null: the country default;
    country_id only needed when several countries share the MCC).  ``{"factor"}``: every
    row, ``rate x factor`` rounded half-even to 4 decimals (at least 0.0001).
    """
    if body.get("factor") is not None:
        mixed = [k for k in ("mcc", "mnc", "rate", "country_id") if k in body]
        if mixed:
            raise _refuse("factor", f"The factor scales every rate: it cannot be combined with {', '.join(mixed)}.")
        text = (f"The factor must be a decimal between {MIN_FACTOR} and {MAX_FACTOR} "
                f"with at most {FACTOR_DECIMALS} decimals.")
        factor = _decimal(body["factor"], "factor", text)
        if not MIN_FACTOR <= factor <= MAX_FACTOR or factor != factor.quantize(Decimal(1).scaleb(-FACTOR_DECIMALS)):
            raise _refuse("factor", text)
        rates = {r.key: scaled_rate(r.rate, factor) for r in card.rows}
        if max(rates.values()) > MAX_RATE:
            raise _refuse("factor", f"The factor must keep every rate at most {MAX_RATE}.")
        return rates
    if "rate" not in body and "mcc" not in body:
        raise _refuse("rate", "The rate field is required (with mcc and mnc), unless factor is given.")
    key = _rate_row(body, card)
    return {key: _rate_value(body.get("rate"))}
