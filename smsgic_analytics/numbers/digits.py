"""Normalised numbers as one fixed-width byte column: the pricing engine's representation.

``normalize.normalize_digits`` writes each recipient's digits into a numpy ``S20`` array
(ASCII, NUL-padded; ``b""`` for a refused row).  Everything downstream works on that column
without making a Python ``str`` per number: de-duplication keys (``keys``), the digit matrix
the numbering automaton runs over (``digit_matrix``), and the ``number`` column of a frame as
Arrow strings (``as_arrow``).  ``as_text`` makes the Python strings for the callers that need
them (the API request body, ``Recipients.numbers``).

Why the decimal value is a key: a normalised number never starts with ``0`` (a country code
never does), so its value names it uniquely; up to 19 digits it fits in a uint64 and a hash
factorize over uint64 is about 4x faster than over Python strings.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..core import spec

WIDTH = spec.RECIPIENT_MAX_DIGITS
DTYPE = np.dtype(f"S{WIDTH}")
PAD = 10  # digit_matrix's value after the end of a number
_UINT64_MAX = np.array([str(np.iinfo(np.uint64).max)], dtype=DTYPE)[0]
_ROWS = 1 << 16  # rows per pass: keeps each pass's temporaries in the CPU cache


def as_bytes(numbers: Sequence[Any] | np.ndarray) -> np.ndarray:
    """Normalised numbers (an ``S20`` array is returned as it is; ``str`` digits, None for a
    refused row) as the ``S20`` column."""
    if isinstance(numbers, np.ndarray) and numbers.dtype == DTYPE:
        return numbers
    if isinstance(numbers, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)):
        arrow = _arrow_text(numbers)
        if arrow is not None:
            return _from_arrow(arrow)
        return np.asarray(pd.Series(numbers).to_numpy(dtype=object, na_value=""), dtype=DTYPE)
    return np.array(["" if n is None else n for n in numbers], dtype=DTYPE)


def _arrow_text(values: pd.Series | pd.Index | pd.api.extensions.ExtensionArray) -> pa.ChunkedArray | None:
    """The Arrow strings behind a pandas Arrow string column (None for any other column)."""
    array = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    data = getattr(array, "_pa_array", None)  # ArrowStringArray / ArrowExtensionArray
    if isinstance(data, pa.ChunkedArray) and (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return data
    return None


def _from_arrow(text: pa.ChunkedArray) -> np.ndarray:
    """Arrow strings (digits; null for a refused row) -> the ``S20`` column: each padded with NUL
    to WIDTH bytes by Arrow, so the data buffer *is* the column (the inverse of ``as_arrow``)."""
    if len(text) == 0:
        return np.zeros(0, dtype=DTYPE)
    text = text.fill_null("")
    longest = pc.max(pc.binary_length(text)).as_py() or 0
    if longest > WIDTH:
        bad = pc.index(pc.greater(pc.binary_length(text), WIDTH), True).as_py()
        raise ValueError(f"row {bad}: {text[bad].as_py()!r} is not a normalised number (more than {WIDTH} digits)")
    if not pc.all(pc.string_is_ascii(text)).as_py():
        bad = pc.index(pc.string_is_ascii(text), False).as_py()
        raise ValueError(f"row {bad}: {text[bad].as_py()!r} is not a normalised number (not ASCII digits)")
    padded = pc.ascii_rpad(text, width=WIDTH, padding="\0").combine_chunks().cast(pa.large_string())
    _, offsets, data = padded.buffers()
    start = np.frombuffer(offsets, dtype=np.int64)[padded.offset]
    return np.frombuffer(data, dtype=DTYPE, count=len(padded), offset=int(start)).copy()


def matrix(digits: np.ndarray) -> np.ndarray:
    """The (n, WIDTH) uint8 view of an ``S20`` column: ASCII digits, 0 after each number's end."""
    return digits.view(np.uint8).reshape(len(digits), WIDTH)


def keys(digits: np.ndarray) -> np.ndarray | None:
    """Each number's decimal value as uint64 (0 for a refused row): equal keys, equal numbers.

    None when a 20-digit number exceeds 2**64 - 1 (then keys would wrap; factorize the text)."""
    n = len(digits)
    m = matrix(digits)
    long = m[:, WIDTH - 1] != 0
    if long.any() and (digits[long] > _UINT64_MAX).any():
        return None
    out = np.zeros(n, dtype=np.uint64)
    ten, zero = np.uint64(10), np.uint64(ord("0"))
    for lo in range(0, n, _ROWS):
        block = np.ascontiguousarray(m[lo:lo + _ROWS].T)
        value = out[lo:lo + _ROWS]
        for column in block:
            present = column != 0
            if not present.any():
                break
            step = value * ten
            step += column.astype(np.uint64)
            step -= zero
            np.copyto(value, step, where=present)
    return out


def has_number(digits: np.ndarray) -> np.ndarray:
    """True where a row holds a number (a refused row is ``b""``: no first digit)."""
    return matrix(digits)[:, 0] != 0


def lengths(digits: np.ndarray) -> np.ndarray:
    """Digits per number (0 for a refused row), int8; block by block, so no (n, WIDTH)
    temporary is made."""
    m = matrix(digits)
    out = np.zeros(len(digits), dtype=np.int8)  # at most WIDTH digits
    for lo in range(0, len(digits), _ROWS):
        out[lo:lo + _ROWS] = (m[lo:lo + _ROWS] != 0).sum(axis=1)
    return out


def digit_matrix(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((WIDTH, n) uint8 digit values with ``PAD`` after each number's end, length per number):
    the layout the numbering automaton reads one digit column at a time."""
    m = matrix(digits)
    present = m != 0
    out = np.where(present, m - np.uint8(ord("0")), np.uint8(PAD)).T
    return np.ascontiguousarray(out), present.sum(axis=1)


def as_arrow(digits: np.ndarray) -> pd.arrays.ArrowStringArray:
    """The numbers as a pandas ``string`` (Arrow) array, missing where a row was refused: made
    from the bytes directly (offsets from the lengths), no Python string per number; block by
    block, so no temporary the size of the column is made."""
    n = len(digits)
    m = matrix(digits)
    size = lengths(digits)
    offsets = np.zeros(n + 1, dtype=np.int64)  # large_string: pandas' own Arrow layout (no cast)
    np.cumsum(size, out=offsets[1:], dtype=np.int64)
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    for lo in range(0, n, _ROWS):
        block = m[lo:lo + _ROWS]
        data[offsets[lo]:offsets[min(lo + _ROWS, n)]] = block[block != 0]  # row-major: digits in order
    empty = size == 0
    validity = pa.py_buffer(np.packbits(~empty, bitorder="little")) if empty.any() else None
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), validity,
                                             int(empty.sum()))
    return pd.arrays.ArrowStringArray(array)


def as_text(digits: np.ndarray) -> np.ndarray:
    """The numbers as an object array of ``str`` (None where a row was refused)."""
    return as_arrow(digits).to_numpy(dtype=object, na_value=None)
