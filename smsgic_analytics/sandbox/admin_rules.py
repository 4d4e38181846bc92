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
_METHOD_RE = re.compile(r"[A-Za-z]{1,16}", re.ASCII)
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


def clock_target(body: Mapping[str, Any]) -> datetime:
    """``{"now": ISO-8601}`` -> the instant, within the clock's range."""
    value = body.get("now")
    try:
        if not isinstance(value, str):
            raise ValueError
        instant = parse_instant(value)
    except (ValueError, OverflowError):
        raise _refuse("now", "The now must be an ISO-8601 instant such as 2024-01-01T12:00:00Z.") from None
    if not EARLIEST <= instant <= LATEST:
        raise _refuse("now", f"The now must be between {_CLOCK_RANGE}.")
    return instant


def advance_seconds(body: Mapping[str, Any], now: datetime) -> float:
    """``{"seconds": x}`` -> x, finite, at most 100 years, landing within the clock's range."""
    seconds = _number(body.get("seconds"), "seconds", -MAX_ADVANCE_SECONDS, MAX_ADVANCE_SECONDS)
    if not EARLIEST <= now + timedelta(seconds=seconds) <= LATEST:
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
    return Fault(kind=kind, path=path, method=method, count=count,
                 status=None if status is None else int(status), retry_after=retry_after, seconds=seconds)


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
