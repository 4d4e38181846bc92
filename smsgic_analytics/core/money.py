"""Money: the one parser to ``Decimal``, exact sums and splits, and how amounts are shown.

Money is ``Decimal`` from the wire (JSON is parsed with ``parse_float=Decimal``) to every
record and frame.  Floats are refused unless the caller says the value comes from a table a
person made (a rates spreadsheet: ``floats=True`` reads a float through its shortest text,
``0.4397`` not its binary expansion).  Floats are made only inside chart helpers (``to_float``).

>>> parse_money("450.000", "balance")
Decimal('450.000')
>>> parse_money(0.4397, "rate", floats=True)
Decimal('0.4397')
"""
from __future__ import annotations

import re
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal
from numbers import Integral
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import ValidationError

PLACES = 4  # the API's rate and price precision (0.4397)
_DECIMAL_TEXT = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$", re.ASCII)
_EXACT = Context(prec=60)  # wide enough for any int64 amount divided by a power of ten


class MoneyError(ValidationError, ValueError):
    """A value that is not an amount of money; the text names where it came from.  An
    ``SMSgicError`` (input the client refuses) and, as before, a ``ValueError``."""


def is_missing(value: Any) -> bool:
    """None, NaN, NA or NaT: a cell with no value."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def parse_money(value: Any, where: str, *, floats: bool = False,
                error: type[Exception] = MoneyError) -> Decimal:
    """``value`` as an exact, finite ``Decimal``, or ``error`` naming ``where`` and the value.

    Accepts Decimal, integers and decimal text (``"450.000"``); a float only with
    ``floats=True``.  Booleans, NaN, infinities and anything else are refused.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (bool, np.bool_)):
        raise error(f"{where}: expected an amount, got a boolean {value!r}")
    elif isinstance(value, Integral):
        result = Decimal(int(value))
    elif isinstance(value, str) and _DECIMAL_TEXT.match(value.strip()):
        result = Decimal(value.strip())
    elif isinstance(value, (float, np.floating)):
        if not floats:
            raise error(f"{where}: expected an exact amount, got the float {value!r} (money is never a float here)")
        result = Decimal(repr(float(value)))
    else:
        raise error(f"{where}: expected an amount, got {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise error(f"{where}: an amount must be finite, got {value!r}")
    return result


def money_sum(values: Iterable[Any], where: str = "amount") -> Decimal:
    """Exact sum of the amounts, missing cells left out."""
    return sum((parse_money(v, where) for v in values if not is_missing(v)), Decimal(0))


def units_to_money(units: int, scale: int = 10**PLACES) -> Decimal:
    """Integer minor units -> Decimal, exactly, written at the scale's places (``4500`` ->
    ``Decimal('0.4500')``): every money column and total has one scale, the API's 4 decimals
    (or a finer one a quote's rates need)."""
    return Decimal(int(units)).scaleb(-_places(scale), _EXACT)


def money_column(units: Any, scale: int = 10**PLACES) -> np.ndarray:
    """Integer minor units -> object array of Decimals at the scale's places (None where
    ``units < 0``: no price).  One Decimal per distinct value (a hash factorize, no sort), then a
    take: a million rows with a few hundred distinct costs make a few hundred Decimals."""
    units = np.asarray(units, dtype=np.int64).reshape(-1)
    if not len(units):
        return np.zeros(0, dtype=object)
    codes, distinct = pd.factorize(units)
    money = np.array([units_to_money(u, scale) if u >= 0 else None for u in distinct.tolist()], dtype=object)
    return money[codes]


def _places(scale: int) -> int:
    """The decimal places of a power-of-ten scale (10_000 -> 4)."""
    places = len(str(int(scale))) - 1
    if scale < 1 or 10**places != scale:
        raise ValueError(f"a money scale is a power of ten, not {scale!r}")
    return places


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """Split ``amount`` over ``weights`` proportionally, exactly (largest remainder method).

    The shares are multiples of the finest decimal place among the inputs and always add
    up to ``amount`` to the last digit: a sending's tax spread over its destinations.

    >>> allocate(Decimal("0.10"), [Decimal("1"), Decimal("1"), Decimal("1")])
    [Decimal('0.04'), Decimal('0.03'), Decimal('0.03')]
    """
    if not weights:
        return []
    exponent = min(int(d.as_tuple().exponent) for d in (amount, *weights))
    quantum = Decimal(1).scaleb(exponent)
    weight_total = sum(weights, Decimal(0))
    if weight_total == 0:
        shares = [Decimal(0).quantize(quantum)] * len(weights)
        shares[-1] = amount.quantize(quantum)
        return shares
    sign = -1 if amount < 0 else 1
    units = int((abs(amount) / quantum).to_integral_value())
    exact = [Decimal(units) * w / weight_total for w in weights]
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    left = units - sum(floors)
    # Hand the leftover units to the largest fractional parts; ties go to the earlier row.
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [(sign * Decimal(n) * quantum).quantize(quantum) for n in floors]


def format_money(amount: Decimal | None, currency: str | None = None, places: int = PLACES) -> str:
    """An amount as people read it in tables: the API's 4 decimals (more when the amount has
    them: nothing is rounded away), thousands separated, then the currency if given.

    >>> format_money(Decimal("110.424"), "GBP")
    '110.4240 GBP'
    """
    if amount is None or is_missing(amount):
        return "unpriced"
    value = parse_money(amount, "amount")
    shown = max(places, -int(value.as_tuple().exponent))
    text = f"{value:,.{shown}f}"
    return f"{text} {currency}" if currency else text


def to_float(value: Any) -> float:
    """For charts only: an amount as a float (NaN when missing)."""
    return float("nan") if is_missing(value) else float(parse_money(value, "amount", floats=True))


def round_money(value: Decimal, places: int = PLACES) -> Decimal:
    """A computed amount (an average, a share) rounded half-even to the API's 4 decimals.

    >>> round_money(Decimal(10) / Decimal(3))
    Decimal('3.3333')
    """
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
