"""Normalise, de-duplicate and validate recipient lists, keeping a reason for every row.

The API accepts ASCII digits only, 8 to 20 of them (``spec.RECIPIENT_RE``).  Analysts paste
numbers as ``+44 7700 900-123``, ``(0044) 7700.900.123`` or as floats out of a spreadsheet,
so formatting is removed before checking.  A row that still fails is never dropped quietly:
it is raised (default) or reported with its index, original value and the rule it breaks.

>>> r = normalize_recipients(["+44 7700 900123", "0044-7700-900123", "12ab"], on_invalid="report")
>>> r.numbers, len(r.duplicates), r.invalid.loc[0, "reason"]
(('447700900123',), 1, "contains characters other than digits: 'a', 'b'")
"""
from __future__ import annotations

import math
import numbers
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Hashable, Iterable, Literal

import pandas as pd

from . import spec
from .errors import InvalidRecipientsError

OnInvalid = Literal["raise", "report"]

# Formatting people put in phone numbers: plus, spaces, dashes, dots, parentheses.
# Unicode spaces and dashes (NBSP, thin space, en dash, ...) count as formatting too.
_SEPARATORS = " \t\r\n-.()/" + "\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u2010\u2011\u2012\u2013\u2014\u2212"
_STRIP = str.maketrans("", "", _SEPARATORS)
MIN_DIGITS, MAX_DIGITS = 8, 20
MAX_LISTED = 20  # rows spelled out in an error message; the full list is on ``.invalid``


def normalize_number(value: Any) -> tuple[str | None, str | None]:
    """Return ``(number, None)`` for a usable recipient or ``(None, reason)`` for a bad one.

    Removes spaces, dashes, dots, parentheses, a leading ``+`` or ``00``; integral floats
    (spreadsheet cells) become their digits.
    """
    text, reason = _as_text(value)
    if reason:
        return None, reason
    assert text is not None
    # NFKC turns full-width digits into ASCII; other scripts' digits are mapped by value.
    text = unicodedata.normalize("NFKC", text).translate(_STRIP)
    text = "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in text)
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]  # international call prefix, the same as "+"
    if not text:
        return None, "empty after removing formatting"
    bad = sorted({c for c in text if not ("0" <= c <= "9")})
    if bad:
        return None, "contains characters other than digits: " + ", ".join(repr(c) for c in bad)
    if len(text) < MIN_DIGITS:
        return None, f"too short: {len(text)} digits, the API needs {MIN_DIGITS}-{MAX_DIGITS}"
    if len(text) > MAX_DIGITS:
        return None, f"too long: {len(text)} digits, the API needs {MIN_DIGITS}-{MAX_DIGITS}"
    assert spec.RECIPIENT_RE.match(text)
    return text, None


def _as_text(value: Any) -> tuple[str | None, str | None]:
    """The value as text, or the reason it cannot be a phone number at all."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None, "missing value"
    if isinstance(value, bool):
        return None, f"not a phone number: {value!r}"
    if isinstance(value, str):
        return (value, None) if value.strip() else (None, "missing value")
    if isinstance(value, numbers.Integral):
        return (str(int(value)), None) if value >= 0 else (None, "negative number")
    if isinstance(value, (float, Decimal, numbers.Real)):
        if isinstance(value, float) and math.isnan(value):
            return None, "missing value"
        if not math.isfinite(value) or value != int(value):
            return None, f"not a whole number: {value!r}"
        if isinstance(value, float) and abs(value) >= 2**53:
            return None, f"float too large to hold every digit exactly: {value!r} (pass numbers as text)"
        return (str(int(value)), None) if value >= 0 else (None, "negative number")
    return None, f"not a phone number: {type(value).__name__}"


@dataclass(frozen=True)
class Recipients:
    """The outcome of :func:`normalize_recipients`.

    ``numbers``: valid, unique, normalised numbers in first-seen order.
    ``invalid``: DataFrame[index, value, reason], one row per rejected input row.
    ``duplicates``: DataFrame[index, value, number, first_index], one row per repeat.
    ``total``: how many rows came in (= valid unique + duplicates + invalid).
    """

    numbers: tuple[str, ...]
    invalid: pd.DataFrame
    duplicates: pd.DataFrame
    total: int

    def __len__(self) -> int:
        return len(self.numbers)

    def summary(self) -> str:
        """One line: how many rows were kept, merged and rejected."""
        return (f"{self.total} rows: {len(self.numbers)} unique valid numbers, "
                f"{len(self.duplicates)} duplicates, {len(self.invalid)} invalid")

    def raise_for_invalid(self) -> None:
        """Raise ``InvalidRecipientsError`` naming every bad row, if there is one."""
        if self.invalid.empty:
            return
        rows = list(self.invalid.itertuples(index=False))
        listed = "; ".join(f"row {r.index!r} {r.value!r}: {r.reason}" for r in rows[:MAX_LISTED])
        more = f"; ... and {len(rows) - MAX_LISTED} more (see .invalid)" if len(rows) > MAX_LISTED else ""
        field_errors = {f"recipients.{r.index}": [f"{r.value!r}: {r.reason}"] for r in rows}
        raise InvalidRecipientsError(
            f"{len(rows)} of {self.total} recipients are invalid: {listed}{more}",
            field_errors=field_errors,
            invalid=self.invalid.copy(),
        )


def normalize_recipients(values: Any, *, on_invalid: OnInvalid = "raise") -> Recipients:
    """Normalise a list/Series/array of phone numbers, de-duplicate them, check each one.

    ``on_invalid="raise"`` (default) raises ``InvalidRecipientsError`` listing every bad row
    (index, original value, reason); ``"report"`` keeps going and returns them in ``.invalid``.
    Row indexes are the Series' index labels, or positions for other inputs.

    >>> normalize_recipients(pd.Series(["+371 2000 0001", "371-2000-0001"])).numbers
    ('37120000001',)
    """
    if on_invalid not in ("raise", "report"):
        raise ValueError(f"on_invalid must be 'raise' or 'report', not {on_invalid!r}")
    valid: list[str] = []
    first_seen: dict[str, Hashable] = {}
    invalid_rows: list[tuple[Hashable, Any, str]] = []
    duplicate_rows: list[tuple[Hashable, Any, str, Hashable]] = []
    total = 0
    for index, value in _indexed(values):
        total += 1
        if (type(value) is str and value.isdigit() and value.isascii() and MIN_DIGITS <= len(value) <= MAX_DIGITS
                and not value.startswith("00")):
            number, reason = value, None  # already clean: the common case, kept fast for big lists
        else:
            number, reason = normalize_number(value)
        if number is None:
            invalid_rows.append((index, value, reason or "invalid"))
        elif number in first_seen:
            duplicate_rows.append((index, value, number, first_seen[number]))
        else:
            first_seen[number] = index
            valid.append(number)
    result = Recipients(
        numbers=tuple(valid),
        invalid=_frame(invalid_rows, {"index": object, "value": object, "reason": "string"}),
        duplicates=_frame(duplicate_rows, {"index": object, "value": object, "number": "string", "first_index": object}),
        total=total,
    )
    if on_invalid == "raise":
        result.raise_for_invalid()
    return result


def _frame(rows: list[tuple[Any, ...]], dtypes: dict[str, Any]) -> pd.DataFrame:
    """Rows -> DataFrame, column by column so original values (None, ints) are kept as they came."""
    columns = list(zip(*rows)) if rows else [()] * len(dtypes)
    return pd.DataFrame({name: pd.Series(list(col), dtype=dtype) for (name, dtype), col in zip(dtypes.items(), columns)})


def _indexed(values: Any) -> Iterable[tuple[Hashable, Any]]:
    """(index, value) pairs: a Series keeps its labels, anything else is numbered from 0."""
    if isinstance(values, pd.DataFrame):
        raise TypeError("pass one column of numbers (a Series), not a whole DataFrame")
    if isinstance(values, (pd.Series, pd.Index)):
        series = pd.Series(values)
        return zip(series.index.tolist(), series.tolist())
    if isinstance(values, (str, bytes, int)) or not isinstance(values, Iterable):
        values = [values]  # one number on its own, not its characters one by one
    return enumerate(values)
