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
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import phonenumbers
import pyarrow as pa

from ..core import spec
from .digits import DTYPE, WIDTH, as_bytes, as_text, matrix

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
_WIDE = 40  # longer texts take the exact path (they are refused anyway, with a reason)
_CHUNK = 1 << 16  # rows per vectorised pass: bounds the temporary arrays' memory
_PLUS, _ZERO, _NINE = ord("+"), ord("0"), ord("9")


def indexed_numbers(values: Any) -> tuple[pd.Index, Any]:
    """(labels, column) of the numbers a caller passed: a Series keeps its labels, anything
    else is numbered from 0; ``column`` is what the normaliser gets (a Series or array keeps
    its dtype).  A DataFrame or a mapping is refused: which of its parts are the numbers is
    the caller's to say."""
    if isinstance(values, pd.DataFrame):
        raise TypeError("pass one column of numbers (a Series), not a whole DataFrame")
    if isinstance(values, Mapping):  # list(d) would take its keys: say which part is meant
        raise TypeError("numbers is a mapping: pass pd.Series(d) for its values (labelled by its keys), "
                        "or list(d) for its keys")
    if isinstance(values, (pd.Series, pd.Index)):
        series = pd.Series(values)
        return series.index, series
    if isinstance(values, (str, bytes, int)) or not isinstance(values, Iterable):
        values = [values]  # one number on its own, not its characters one by one
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return pd.RangeIndex(len(values)), values
    items = list(values)
    return pd.RangeIndex(len(items)), items


def numbers_series(values: Any) -> pd.Series:
    """The numbers a caller passed as one Series (``indexed_numbers``: a Series as it is, a
    list or array numbered from 0, one str as one number; a DataFrame or a mapping refused)."""
    labels, column = indexed_numbers(values)
    return column if isinstance(column, pd.Series) else pd.Series(column, index=labels, dtype=object)


def normalize_numbers(values: Sequence[Any] | pd.Series | np.ndarray,
                      default_region: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``normalize_number`` over a column: (digits, reasons), two object arrays, one entry per value.

    ``digits[i]`` is None exactly where ``reasons[i]`` says why.  Plain ASCII text is done with
    numpy, integers once per distinct value (an integer column never goes row by row);
    everything else row by row, with the same rules.

    >>> normalize_numbers(["+44 7400 123456", "n/a"])[0].tolist()
    ['447400123456', None]
    """
    digits, reasons = normalize_digits(values, default_region)
    return as_text(digits), reasons


def normalize_digits(values: Sequence[Any] | pd.Series | np.ndarray,
                     default_region: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``normalize_numbers`` as the pricing engine wants it: (digits, reasons) with ``digits`` a
    numpy ``S20`` column (``numbers.digits``; ``b""`` where ``reasons`` says why not), so no
    Python string is made per number.  Text columns go through Arrow (an Arrow-backed pandas
    ``string``/``str`` column as it is)."""
    region = _region(default_region)
    if _integer_dtype(values):  # a whole int64 / Int64 column: one answer per distinct value
        digits, reasons = _from_integers(values)
        return as_bytes(digits), reasons
    if not isinstance(values, (pd.Series, pd.Index, np.ndarray, list, tuple)):
        values = indexed_numbers(values)[1]  # one str is one number; a mapping or a DataFrame is refused
    n = len(values)
    digits = np.zeros(n, dtype=DTYPE)
    reasons = np.full(n, None, dtype=object)
    for lo, text, others in _blocks(values):
        hi = lo + len(text)
        _normalize_chunk(text, others, region, digits[lo:hi], reasons[lo:hi])
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


def _blocks(values: Any) -> Iterator[tuple[int, pa.StringArray, np.ndarray | None]]:
    """(first row, the block's text as an Arrow string array, None) per block of ``_CHUNK`` rows
    -- or, in a block where some values are not text, (first row, text with nulls there, an
    object array of the block's values: the exact path reads those).  Converted block by block,
    so the Arrow copy of an object column never exists whole."""
    if isinstance(values, (pd.Series, pd.Index)) and isinstance(values.dtype, pd.StringDtype):
        array = pa.array(values.array, from_pandas=True)  # Arrow-backed: no copy
        array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
        if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
            array = array.cast(pa.large_string())
        for lo in range(0, len(array), _CHUNK):
            yield lo, array.slice(lo, _CHUNK), None
        return
    if isinstance(values, (pd.Series, pd.Index, np.ndarray)) and values.dtype == object:
        held = np.asarray(values, dtype=object).ravel()
    else:
        items = values.tolist() if isinstance(values, (pd.Series, pd.Index, np.ndarray)) else list(values)
        held = np.fromiter(items, dtype=object, count=len(items))
    text = pd.api.types.infer_dtype(held, skipna=False) == "string"  # the usual column: all text
    for lo in range(0, len(held), _CHUNK):
        block = held[lo:lo + _CHUNK]
        if text:
            try:
                yield lo, pa.array(block, type=pa.string()), None
                continue
            except (pa.ArrowException, UnicodeError):  # e.g. a lone surrogate: not UTF-8
                pass
        yield lo, pa.array([v if type(v) is str and v.isascii() else None for v in block.tolist()],
                           type=pa.string()), block


# Bytes that send a value to the exact path: non-ASCII (UTF-8), NUL, and "." / "e" / "E" (a
# float's rendering?).  ``_STRIP``: bytes the fast path removes (ASCII formatting).
_ODD = np.zeros(256, dtype=bool)
_ODD[128:] = _ODD[0] = True
_ODD[[ord(c) for c in ".eE"]] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[_ZERO:_NINE + 1] = True


def _rows_of(positions: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The value each byte position belongs to."""
    return np.searchsorted(offsets, positions, side="right") - 1


def _normalize_chunk(text: pa.StringArray | pa.LargeStringArray, others: np.ndarray | None, region: str | None,
                     digits: np.ndarray, reasons: np.ndarray) -> None:
    """Fill ``digits`` (an S20 view) and ``reasons`` (a view) for one block of values.

    Works on the block's UTF-8 bytes as one flat buffer (Arrow's layout: bytes + offsets):
    formatting is removed by compressing the buffer, a ``+`` / ``00`` prefix by moving a
    value's start, and per-value counts come from cumulative sums -- no per-row Python and no
    2-D scans."""
    n = len(text)
    wide = np.dtype(np.int64 if pa.types.is_large_string(text.type) else np.int32)
    offsets = np.frombuffer(text.buffers()[1], dtype=wide, count=n + 1, offset=wide.itemsize * text.offset)
    buffer = text.buffers()[2]
    first_byte, last_byte = int(offsets[0]), int(offsets[-1])
    raw = np.frombuffer(buffer, dtype=np.uint8)[first_byte:last_byte] if buffer is not None else np.zeros(0, np.uint8)
    count = np.int32 if last_byte - first_byte < 2**31 - 1 else np.int64  # positions in this block's bytes
    offsets = (offsets - first_byte).astype(count)
    exact = np.asarray(text.is_null().to_numpy(zero_copy_only=False), dtype=bool) if text.null_count \
        else np.zeros(n, dtype=bool)
    done = np.zeros(n, dtype=bool)  # integers: decided by their value, once per distinct value
    exact |= np.diff(offsets) > _WIDE
    exact[_rows_of(np.flatnonzero(_ODD[raw]), offsets)] = True
    opening = np.flatnonzero(raw[:-2] == ord("("))  # "(0)": the trunk digit, the exact path drops it
    exact[_rows_of(opening[(raw[opening + 1] == _ZERO) & (raw[opening + 2] == ord(")"))], offsets)] = True
    keep = ~_STRIP[raw]
    kept = np.zeros(len(raw) + 1, dtype=count)
    np.cumsum(keep, out=kept[1:])
    bounds = kept[offsets]  # each value's start and end in the compressed buffer
    start, end = bounds[:-1], bounds[1:]
    packed = np.concatenate([raw[keep], np.zeros(WIDTH + 2, dtype=np.uint8)])
    size = end - start
    lead_plus = (size > 0) & (packed[start] == _PLUS)
    start = start + lead_plus
    zz = ~lead_plus & (size >= 2) & (packed[start] == _ZERO) & (packed[start + 1] == _ZERO)
    start = start + 2 * zz
    length = end - start
    other = np.zeros(len(packed) + 1, dtype=count)  # non-digits (a "+" inside included)
    np.cumsum(~_DIGIT[packed], out=other[1:])
    non_digit = (other[end] - other[start]) > 0
    starts_zero = (length > 0) & (packed[start] == _ZERO)
    national = starts_zero & ~lead_plus & ~zz
    exact |= non_digit | (length == 0) | (starts_zero & (lead_plus | zz)) | (national & (region is not None))
    refused_national = national & ~exact
    reasons[refused_national] = NATIONAL
    fast = ~exact & ~refused_national
    for i in np.flatnonzero(fast & ((length < MIN_DIGITS) | (length > MAX_DIGITS))).tolist():
        reasons[i] = _too_short_or_long(int(length[i]))
        fast[i] = False
    out = matrix(digits)
    take = np.where(fast, length, 0)
    blank = len(packed) - 1  # a NUL byte
    for j in range(int(take.max(initial=0))):
        out[:, j] = packed[np.where(j < take, start + j, blank)]
    if others is not None:
        ints = [i for i in np.flatnonzero(exact).tolist()
                if isinstance(others[i], numbers.Integral) and not isinstance(others[i], (bool, np.bool_))]
        if ints:
            done[ints] = True
            found, why = _from_integers(others[ints])
            digits[ints], reasons[ints] = as_bytes(found), why
    _exact_rows(np.flatnonzero(exact & ~done), text, others, region, digits, reasons)


def _exact_rows(rows: np.ndarray, text: pa.StringArray, others: np.ndarray | None, region: str | None,
                digits: np.ndarray, reasons: np.ndarray) -> None:
    """``normalize_number`` for the rows the vectorised pass left; a text value is decided once
    however often it repeats (junk such as "n/a" usually does)."""
    if not len(rows):
        return
    values = others[rows].tolist() if others is not None else text.take(pa.array(rows)).to_pylist()
    seen: dict[str, tuple[str | None, str | None]] = {}
    for i, value in zip(rows.tolist(), values):
        if type(value) is str:
            answer = seen.get(value)
            if answer is None:
                answer = seen[value] = normalize_number(value, region)
        else:
            answer = normalize_number(value, region)
        found, reasons[i] = answer
        if found is not None:
            digits[i] = found.encode("ascii")
