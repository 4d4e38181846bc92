"""The one phone-number normaliser: text as people type it -> the digits the API takes.

Every path that handles a recipient -- the client's calculate and send, offline pricing and
numbering, templates, the apps -- normalises through this module, so a number is either the
same digits everywhere or refused everywhere, with the same reason.

Rules, in order:

1. Missing values (None, NaN, NA, "" or blanks) are refused as "missing value".
2. A float, or text that is a float's rendering (``"37129123457.0"``, ``"3.7129123457e+10"``),
   is refused: a number read as a float may have lost digits or leading zeros, and
   ``"…457.0"`` read as digits is another person's number.  Read the column as text.
3. Unicode is folded (NFKC: full-width digits; other scripts' decimal digits by value) and
   formatting is removed: whitespace, dashes, dots, parentheses, slashes, zero-width marks.
   ``(0)`` after an international prefix is the trunk digit written for domestic callers and
   is dropped with it (``+44 (0)20 …`` is ``4420…``).
4. ``+`` starts an international number and may appear once, first; ``00`` is the same
   international prefix.  A country code never starts with 0.
5. Any other number starting with ``0`` is national (``07700 900129``): it has no country
   code and is refused unless ``default_region`` (an ISO region such as ``"GB"``) says whose
   it is; phonenumbers then writes it internationally (``447700900129``).  Every other
   number is read as international, country code first -- the API's own format.
6. What is left must be ASCII digits, 8 to 20 of them (``spec.RECIPIENT_RE``).

A value that arrived as a number -- an ``int``, a numpy integer, an ``int64``/``Int64`` column's
value, a whole ``Decimal`` -- has already lost any leading ``0`` or ``+`` (``pd.read_csv`` reads
``07400123456`` as ``7400123456``), so it is never read as a national number: its digits are
accepted only when they are a valid international number by themselves (phonenumbers,
``+<digits>``), whatever ``default_region`` says, and refused with ``INTEGER_VALUE`` (the fix:
read the column as text) otherwise.  ``True``/``False`` are not numbers here.

``normalize_number`` does one value; ``normalize_numbers`` does a column at once with numpy
(the common ASCII cases; integers once per distinct value) and hands every other row to
``normalize_number`` -- the test suite checks with hypothesis that both always agree.

>>> normalize_number("+44 7400/123456")
('447400123456', None)
>>> normalize_number("07700 900129", default_region="GB")
('447700900129', None)
"""
from __future__ import annotations

import math
import numbers
import re
import unicodedata
from decimal import Decimal
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import pandas as pd
import phonenumbers

from ..core import spec

MIN_DIGITS, MAX_DIGITS = spec.RECIPIENT_MIN_DIGITS, spec.RECIPIENT_MAX_DIGITS

# Reasons (one home each; tests and apps read them from here).
MISSING = "missing value"
EMPTY = "empty after removing formatting"
NATIONAL = ("starts with 0: a national number without its country code; write it as +<country code> "
            "<number>, or pass default_region= its ISO region (e.g. default_region='GB')")
ZERO_COUNTRY_CODE = "a country code never starts with 0"
PLUS_INSIDE = "'+' may only start a number (it marks the country code)"
FLOAT_FIX = ("read the column as text, e.g. pd.read_csv(path, dtype=str) or df['phone'].astype('string') "
             "before it ever becomes a float")
FLOAT_VALUE = f"a float, not text: a phone number read as a number may have lost digits or leading zeros; {FLOAT_FIX}"
FLOAT_TEXT = f"looks like a float's rendering (a trailing .0 or an exponent), not a phone number; {FLOAT_FIX}"
INTEGER_VALUE = ("an integer, not text, and +<its digits> is not a valid international number: a phone number "
                 "read as a number has lost any leading 0 or '+', so it is never read as a national number "
                 "(default_region does not apply); keep the column as text from the start: "
                 "pd.read_csv(path, dtype=str), or sa.read_audience(path) (it reads CSV cells as text; a Parquet "
                 "or Excel column stored as integers must be written as text)")
NEGATIVE = "negative number"
_TOO_BIG = 10 ** (MAX_DIGITS + 5)
_FLOAT_TEXT_RE = re.compile(r"^\+?\d+(?:\.0+|(?:\.\d+)?[eE][+-]?\d+)$", re.ASCII)
_TRUNK_RE = re.compile(r"^(\+|00)([^(]*)\(0\)")


def _is_separator(char: str) -> bool:
    """Formatting inside a number: whitespace, any dash, . ( ) /, and invisible format marks."""
    return char.isspace() or char in ".()/\u2212" or unicodedata.category(char) in ("Pd", "Cf")


def _too_short_or_long(length: int) -> str | None:
    if length < MIN_DIGITS:
        return f"too short: {length} digits, the API needs {MIN_DIGITS}-{MAX_DIGITS}"
    if length > MAX_DIGITS:
        return f"too long: {length} digits, the API needs {MIN_DIGITS}-{MAX_DIGITS}"
    return None


def _as_integer(value: Any) -> int | None:
    """The value as an ``int`` if it arrived as a whole number (not text, not a float, not a bool)."""
    if isinstance(value, (bool, np.bool_, float, np.floating)):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value == value.to_integral_value() else None
    if isinstance(value, numbers.Real) and math.isfinite(value) and value == int(value):
        return int(value)
    return None


@lru_cache(maxsize=1 << 16)
def _from_integer(value: int) -> tuple[str | None, str | None]:
    """A number that arrived as an integer: its digits if they are a valid international number
    as they stand (``+<digits>``, phonenumbers), else refused -- never read under a region."""
    if value < 0:
        return None, NEGATIVE
    if value >= _TOO_BIG:  # no phone number; and str() of a huge int is slow (or refused)
        return None, INTEGER_VALUE
    digits = str(value)
    try:
        parsed = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None, INTEGER_VALUE
    if not phonenumbers.is_valid_number(parsed) or \
            phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) != "+" + digits:
        return None, INTEGER_VALUE
    reason = _too_short_or_long(len(digits))
    return (None, reason) if reason else (digits, None)


def _as_text(value: Any) -> tuple[str | None, str | None]:
    """The value as text, or why it cannot be a phone number at all (whole numbers are
    ``_as_integer``'s)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None, MISSING
    if isinstance(value, str):
        return (value, None) if value.strip() else (None, MISSING)
    if isinstance(value, (bool, np.bool_)):
        return None, f"not a phone number: {value!r}"
    if isinstance(value, (float, np.floating)):
        return (None, MISSING) if math.isnan(value) else (None, FLOAT_VALUE)
    if isinstance(value, (Decimal, numbers.Real)):
        if isinstance(value, Decimal) and value.is_nan():
            return None, MISSING
        if not math.isfinite(value) or value != int(value):
            return None, f"not a whole number: {value!r}"
    return None, f"not a phone number: {type(value).__name__}"


def normalize_number(value: Any, default_region: str | None = None) -> tuple[str | None, str | None]:
    """``(digits, None)`` for a usable recipient, ``(None, reason)`` for one that is refused.

    See the module docstring for the rules; ``default_region`` (ISO 3166 alpha-2) only
    decides numbers written nationally, with a leading 0.
    """
    region = _region(default_region)
    whole = _as_integer(value)
    if whole is not None:
        return _from_integer(whole)
    text, reason = _as_text(value)
    if reason:
        return None, reason
    assert text is not None
    text = unicodedata.normalize("NFKC", text).strip()
    text = "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in text)
    if _FLOAT_TEXT_RE.match(text):
        return None, FLOAT_TEXT
    text = _TRUNK_RE.sub(r"\1\2", text, count=1)
    digits = "".join(c for c in text if not _is_separator(c))
    if not digits:
        return None, EMPTY
    international = digits.startswith("+")
    if international:
        digits = digits[1:]
    elif digits.startswith("00"):
        digits, international = digits[2:], True
    if "+" in digits:
        return None, PLUS_INSIDE
    bad = sorted({c for c in digits if not ("0" <= c <= "9")})
    if bad:
        return None, "contains characters other than digits: " + ", ".join(repr(c) for c in bad)
    if not digits:
        return None, EMPTY
    if digits.startswith("0"):
        if international:
            return None, ZERO_COUNTRY_CODE
        if region is None:
            return None, NATIONAL
        return _national(digits, region)
    reason = _too_short_or_long(len(digits))
    return (None, reason) if reason else (digits, None)


def _region(default_region: str | None) -> str | None:
    """The default region, checked: an unknown one is the caller's error, not a row's."""
    if default_region is None:
        return None
    region = default_region.upper() if isinstance(default_region, str) else default_region
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"default_region must be an ISO 3166 region code phonenumbers knows (e.g. 'GB'), "
                         f"not {default_region!r}")
    return region


def _national(digits: str, region: str) -> tuple[str | None, str | None]:
    """A national number of ``region`` written internationally, by phonenumbers."""
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException as exc:
        return None, f"not a {region} number: {exc}"
    if not phonenumbers.is_possible_number(parsed):
        return None, f"not a possible {region} number (read with default_region={region!r})"
    out = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]
    reason = _too_short_or_long(len(out))
    return (None, reason) if reason else (out, None)


# --- a whole column at once ------------------------------------------------------------------

# ASCII characters the fast path removes; rows with any other formatting go one by one.
_STRIP = np.zeros(256, dtype=bool)
_STRIP[[ord(c) for c in " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f-()/"]] = True
# Rows holding these take the exact path: "." and "e"/"E" may be a float's rendering.
_ONE_BY_ONE = np.zeros(256, dtype=bool)
_ONE_BY_ONE[[ord(c) for c in ".eE"]] = True
_WIDE = 40  # longer texts take the exact path (they are refused anyway, with a reason)
_CHUNK = 1 << 18  # rows per vectorised pass: bounds the temporary arrays' memory
_PLUS, _ZERO, _NINE = ord("+"), ord("0"), ord("9")


def normalize_numbers(values: Sequence[Any] | pd.Series | np.ndarray,
                      default_region: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``normalize_number`` over a column: (digits, reasons), two object arrays, one entry per value.

    ``digits[i]`` is None exactly where ``reasons[i]`` says why.  Plain ASCII text is done with
    numpy, integers once per distinct value (an integer column never goes row by row);
    everything else row by row, with the same rules.

    >>> normalize_numbers(["+44 7400 123456", "n/a"])[0].tolist()
    ['447400123456', None]
    """
    region = _region(default_region)
    if _integer_dtype(values):  # a whole int64 / Int64 column: one answer per distinct value
        return _from_integers(values)
    items = values.tolist() if isinstance(values, (pd.Series, pd.Index, np.ndarray)) else list(values)
    n = len(items)
    digits = np.full(n, None, dtype=object)
    reasons = np.full(n, None, dtype=object)
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        _normalize_chunk(items[lo:hi], region, digits[lo:hi], reasons[lo:hi])
    return digits, reasons


def _integer_dtype(values: Any) -> bool:
    """An array, Series or Index of an integer dtype (numpy or pandas' nullable; not bool)."""
    if isinstance(values, np.ndarray):
        return values.dtype.kind in "iu"
    return isinstance(values, (pd.Series, pd.Index)) and pd.api.types.is_integer_dtype(values.dtype)


def _from_integers(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``_from_integer`` of every value (integers; missing ones in an integer column or in an
    object array are refused as missing): factorised, so each distinct value is decided once."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    answers = [_from_integer(int(u)) for u in uniques.tolist()] + [(None, MISSING)]  # [-1]: missing
    digits = np.empty(len(answers), dtype=object)
    reasons = np.empty(len(answers), dtype=object)
    digits[:], reasons[:] = [d for d, _ in answers], [r for _, r in answers]
    return digits[codes], reasons[codes]


def _normalize_chunk(items: list[Any], region: str | None, digits: np.ndarray, reasons: np.ndarray) -> None:
    """Fill ``digits``/``reasons`` (views) for one block of values."""
    n = len(items)
    if set(map(type, items)) <= {str}:  # the usual column: all text, one C-speed pass to know it
        text, exact = items, np.zeros(n, dtype=bool)
    else:
        text = [v if type(v) is str else "" for v in items]
        exact = np.fromiter((type(v) is not str for v in items), dtype=bool, count=n)
    done = np.zeros(n, dtype=bool)  # integers: decided by their value, once per distinct value
    others = np.flatnonzero(exact).tolist()
    ints = [i for i in others if isinstance(items[i], numbers.Integral) and not isinstance(items[i], (bool, np.bool_))]
    if ints:
        column = np.empty(len(ints), dtype=object)
        column[:] = [items[i] for i in ints]
        done[ints] = True
        digits[ints], reasons[ints] = _from_integers(column)
    lens = np.fromiter(map(len, text), dtype=np.int64, count=n)
    exact |= lens > _WIDE
    width = max(int(lens[~exact].max()) if (~exact).any() else 0, 2)
    short = [("" if e else s) for s, e in zip(text, exact)] if exact.any() else text
    codes = np.array(short, dtype=f"<U{width}").view(np.uint32).reshape(n, width)
    present = codes != 0
    # Non-ASCII, embedded NULs, dots and exponents, "(0)": the exact path decides those.
    exact |= (codes > 127).any(axis=1) | (present.sum(axis=1) != np.where(exact, 0, lens))
    m = codes.astype(np.uint8)
    del codes
    m[exact] = 0
    exact |= _ONE_BY_ONE[m].any(axis=1) | ((m[:, :-2] == ord("(")) & (m[:, 1:-1] == _ZERO)
                                          & (m[:, 2:] == ord(")"))).any(axis=1)
    m[exact] = 0
    strip = _STRIP[m]
    changed = strip.any(axis=1)
    m = _pack(m, strip)
    del strip
    plus = m == _PLUS
    lead_plus = plus[:, 0]
    # A '+' anywhere but first, or none left after it: the exact path words the reason.
    exact |= plus.sum(axis=1) > lead_plus
    m = _shift(m, lead_plus, 1)
    zz = ~lead_plus & (m[:, 0] == _ZERO) & (m[:, 1] == _ZERO)
    m = _shift(m, zz, 2)
    changed |= lead_plus | zz
    present = m != 0
    length = present.sum(axis=1)
    non_digit = (present & ((m < _ZERO) | (m > _NINE))).any(axis=1)
    starts_zero = m[:, 0] == _ZERO
    national = starts_zero & ~lead_plus & ~zz
    exact |= non_digit | (length == 0) | (starts_zero & (lead_plus | zz)) | (national & (region is not None))
    refused_national = national & ~exact
    reasons[refused_national] = NATIONAL
    fast = ~exact & ~refused_national
    for i in np.flatnonzero(fast & ((length < MIN_DIGITS) | (length > MAX_DIGITS))).tolist():
        reasons[i] = _too_short_or_long(int(length[i]))
        fast[i] = False
    # Text that was digits already is its own answer; only rewritten rows are decoded back.
    same = np.flatnonzero(fast & ~changed)
    if len(same):
        digits[same] = np.asarray(text, dtype=object)[same]
    rows = np.flatnonzero(fast & changed)
    if len(rows):
        digits[rows] = m[rows].view(f"S{m.shape[1]}").ravel().astype(f"<U{m.shape[1]}").astype(object)
    for i in np.flatnonzero(exact & ~done).tolist():
        digits[i], reasons[i] = normalize_number(items[i], region)


def _pack(m: np.ndarray, drop: np.ndarray) -> np.ndarray:
    """Each row's kept bytes moved to the left (NUL padding after them); rows with nothing
    to drop are left alone.  Flat 1-D operations: fast for a million rows."""
    changed = drop.any(axis=1)
    if not changed.any():
        return m
    rows = np.flatnonzero(changed)
    sub = m[rows]
    keep = ~drop[rows] & (sub != 0)
    counts = keep.sum(axis=1)
    kept = sub[keep]
    width = m.shape[1]
    starts = np.cumsum(counts) - counts
    offset = np.arange(len(kept)) - np.repeat(starts, counts)
    packed = np.zeros(sub.size, dtype=np.uint8)
    packed[np.repeat(np.arange(len(rows)) * width, counts) + offset] = kept
    m[rows] = packed.reshape(len(rows), width)
    return m


def _shift(m: np.ndarray, rows: np.ndarray, by: int) -> np.ndarray:
    """Drop the first ``by`` bytes of the selected rows."""
    if rows.any():
        m[rows, :-by] = m[rows, by:]
        m[rows, -by:] = 0
    return m
