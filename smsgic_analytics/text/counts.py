"""Segment counting for many texts at once: Arrow kernels over UTF-8 buffers, the same rules as
``segments()`` (``text.segments``), vectorised; texts that need grapheme-level packing are
counted exactly by ``segments()`` itself."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Iterable, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex

from ..core import spec
from .alphabet import GSM7_BASIC, GSM7_EXTENSION, GSM7_NAME, GSM7_PART, GSM7_SINGLE, UCS2_NAME, UCS2_PART, UCS2_SINGLE
from .segments import segments

# Code points that can glue to a neighbour in a grapheme cluster (UAX #29 rules GB6-GB13).
# A text without any of them has one cluster per code point (CR LF is split anyway).
_JOINING = regex.compile(
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=Regional_Indicator}"
    r"\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}]+"
)
# Bits of a code point's flags (see _flag_table); the counters are how many code points of
# a text have all the bits of each mask.
_NOT_GSM_FLAG, _EXT_FLAG, _ASTRAL_FLAG, _JOINING_FLAG = 1, 2, 4, 8
_COUNTED = (_NOT_GSM_FLAG, _EXT_FLAG, _ASTRAL_FLAG, _JOINING_FLAG, _JOINING_FLAG | _ASTRAL_FLAG)
_CHUNK_BYTES = 1 << 24  # UTF-8 bytes per pass: bounds the temporary copies to a few tens of MB
_SAMPLE_ROWS, _SAMPLE_REPEATS = 10_000, 0.02  # see _repeats_often
_ENCODINGS = pd.CategoricalDtype([GSM7_NAME, UCS2_NAME])


class _FlagCounts(NamedTuple):
    """Per text: how many of its code points are not GSM, extension, astral, joining, both."""

    not_gsm: np.ndarray
    ext: np.ndarray
    astral: np.ndarray
    joining: np.ndarray
    joining_astral: np.ndarray


@functools.cache
def _flag_table() -> np.ndarray:
    """Per code point (U+0000..U+10FFFF) its flags, built from the GSM tables above."""
    table = np.full(0x110000, _NOT_GSM_FLAG, dtype=np.uint8)
    table[[ord(c) for c in GSM7_BASIC]] = 0
    table[[ord(c) for c in GSM7_EXTENSION]] = _EXT_FLAG
    table[0x10000:] |= _ASTRAL_FLAG
    every = "".join(map(chr, range(0x110000)))
    for m in _JOINING.finditer(every):
        table[m.start() : m.end()] |= _JOINING_FLAG
    return table


@functools.cache
def _marked_bytes() -> bytes:
    """A ``bytes.translate`` table: 1 for a UTF-8 byte that starts a code point that has (or
    may have) a flag, 0 for plain GSM ASCII and continuation bytes.

    Most bytes of a campaign are plain ASCII, so only the few marked ones are decoded.
    """
    marks = np.zeros(256, dtype=np.uint8)
    marks[:0x80] = _flag_table()[:0x80] != 0
    marks[0xC0:] = 1  # lead byte of a multi-byte sequence
    return marks.tobytes()


def _decode_utf8_at(utf8: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The code points whose (valid) UTF-8 encodings start at byte offsets ``starts``."""
    lead = utf8[starts].astype(np.int32)
    last = len(utf8) - 1  # clip: an ASCII byte at the very end has no following bytes
    b1, b2, b3 = (utf8[np.minimum(starts + k, last)].astype(np.int32) & 0x3F for k in (1, 2, 3))
    two = ((lead & 0x1F) << 6) | b1
    three = ((lead & 0x0F) << 12) | (b1 << 6) | b2
    four = ((lead & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3
    return np.select([lead < 0x80, lead < 0xE0, lead < 0xF0], [lead, two, three], four)


def _marked_code_points(utf8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(byte offsets, code points) of every multi-byte or flagged ASCII character in ``utf8``."""
    # bytes.translate maps a byte through a table at memcpy-like speed (np.take would first
    # widen every byte to an index)
    marked = np.frombuffer(utf8.tobytes().translate(_marked_bytes()), dtype=bool)
    starts = np.flatnonzero(marked)
    return starts, _decode_utf8_at(utf8, starts)


def _flagged_code_points(utf8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(byte offsets, flags) of the code points with a flag in the UTF-8 bytes ``utf8``."""
    starts, code_points = _marked_code_points(utf8)
    flags = _flag_table()[code_points]
    keep = flags != 0  # GSM letters outside ASCII (é, £, Δ...) were only marked for a look
    return starts[keep], flags[keep]


def _utf8_buffers(texts: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of an Arrow array: text i is bytes[offsets[i]:offsets[i + 1]]."""
    _, offsets_buffer, data_buffer = texts.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    utf8 = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return offsets, utf8


def _row_chunks(offsets: np.ndarray) -> list[tuple[int, int]]:
    """Row ranges [lo, hi) of about _CHUNK_BYTES of text each, cut where a text starts."""
    chunk_of = (offsets[:-1] - offsets[0]) // _CHUNK_BYTES
    edges = [0, *(np.flatnonzero(np.diff(chunk_of)) + 1).tolist(), len(offsets) - 1]
    return list(zip(edges[:-1], edges[1:]))


def _before(values: np.ndarray) -> np.ndarray:
    """Exclusive running sum: element i is the sum of values[:i] (one more element at the end)."""
    return np.concatenate(([0], np.cumsum(values, dtype=np.int64)))


def _flag_counts(texts: pa.LargeStringArray) -> _FlagCounts:
    """The flag counters of every text, from the Arrow array's UTF-8 buffer in chunks."""
    offsets, utf8 = _utf8_buffers(texts)
    counts = np.zeros((len(_COUNTED), len(texts)), dtype=np.int64)
    for lo, hi in _row_chunks(offsets):
        start = offsets[lo]
        positions, flags = _flagged_code_points(utf8[start : offsets[hi]])
        edges = np.searchsorted(positions, offsets[lo : hi + 1] - start)  # each text's flagged code points
        for row, mask in enumerate(_COUNTED):
            counts[row, lo:hi] = np.diff(_before((flags & mask) == mask)[edges])
    return _FlagCounts(*counts)


def _pair_starts(texts: pa.LargeStringArray, pair_flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, unit offset) of each 2-unit pair in ``texts``, in order: the characters with
    flag ``pair_flag[row]`` (_EXT_FLAG for an escape pair, _ASTRAL_FLAG for a surrogate pair)."""
    offsets, utf8 = _utf8_buffers(texts)
    rows, units = [], []
    for lo, hi in _row_chunks(offsets):
        start = offsets[lo]
        positions, code_points = _marked_code_points(utf8[start : offsets[hi]])
        bounds = offsets[lo : hi + 1] - start
        row = np.searchsorted(bounds, positions, side="right") - 1
        first = np.searchsorted(positions, bounds[:-1])[row]  # the row's first marked character
        # byte offset -> code point offset: minus the extra bytes of the multi-byte characters before
        extra = _before((code_points >= 0x80).astype(np.int64) + (code_points >= 0x800) + (code_points >= 0x10000))
        is_pair = (_flag_table()[code_points] & pair_flag[lo + row]) != 0
        pairs = _before(is_pair)
        # unit offset = code point offset + one more unit for each pair before it
        unit = positions - bounds[row] - (extra[:-1] - extra[first]) + (pairs[:-1] - pairs[first])
        rows.append(lo + row[is_pair])
        units.append(unit[is_pair])
    return np.concatenate([np.zeros(0, np.int64), *rows]), np.concatenate([np.zeros(0, np.int64), *units])


def _walk_boundaries(pair_row: np.ndarray, pair_start: np.ndarray, units: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Parts of texts whose items are 1-unit characters and 2-unit pairs, by packing.

    What ``_pairs_parts`` (and ``_pack`` over such items) does for one text, for many texts
    at once, one part boundary per step: with ``waste`` units lost so far, the b-th boundary
    falls after unit b * capacity - waste of the text, and a pair starting on the unit just
    before it moves whole to the next part, wasting one more.  A boundary wastes at most
    once, so the steps are as many as the longest text has parts.
    """
    stride = int(units.max(initial=0)) + 1  # (row, unit) -> one sortable key
    keys = pair_row * stride + pair_start
    waste = np.zeros(len(units), dtype=np.int64)
    boundary = capacity.astype(np.int64)  # b * capacity, for b = 1, 2, ...
    active = np.flatnonzero(boundary < units + waste)
    while len(active) and len(keys):
        wanted = active * stride + boundary[active] - 1 - waste[active]
        found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        waste[active] += keys[found] == wanted
        boundary[active] += capacity[active]
        active = active[boundary[active] < units[active] + waste[active]]
    return -(-(units + waste) // capacity)


# Which way each text is counted (see _arithmetic_counts).
_SETTLED, _WALK, _SEGMENTS = 0, 1, 2


def _arithmetic_counts(lengths: np.ndarray, c: _FlagCounts) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(is_ucs2, parts, units, route) per text from its code point count and flag counters.

    ``parts`` is ceil(units / part size), which packing can only exceed through items wider
    than one unit that straddle a part boundary.  ``route`` is _SETTLED where the bound
    below rules that out, else _WALK when every wide item is a 2-unit pair (escape or
    surrogate pair: _walk_boundaries is exact), else _SEGMENTS (grapheme clusters).
    """
    is_ucs2 = c.not_gsm > 0
    units = lengths + np.where(is_ucs2, c.astral, c.ext)
    single = np.where(is_ucs2, UCS2_SINGLE, GSM7_SINGLE)
    part = np.where(is_ucs2, UCS2_PART, GSM7_PART)
    parts = np.where(units <= single, 1, -(-units // part))
    # Items wider than one unit: escape pairs (GSM-7); in UCS-2 surrogate pairs and grapheme
    # clusters.  A cluster of several code points holds a joining one (UAX #29: every rule
    # that glues two code points involves one, CR LF aside, which is split), so there are
    # at most astral + joining wide items.  No two non-joining code points touch in a
    # cluster, so it is at most its joining code points' units + 2 each, + 2.
    joining = np.where(is_ucs2, c.joining, 0)
    wide = np.where(is_ucs2, c.astral + joining, c.ext)
    widest = np.where(joining > 0, c.joining_astral + 3 * joining + 2, np.where(wide > 0, 2, 1))
    # Greedy packing closes a part early only before a wide item, wasting < its width.  If
    # it needed a part more than p, the first p parts would hold all but at most
    # min(wide, p - 1) such wastes, and the next at least the item that did not fit:
    # units > p * part - (widest - 1) * min(wide, p - 1).  Up to that bound p is exact.
    waste = (widest - 1) * np.minimum(wide, parts - 1)
    unsettled = (units > single) & (units + waste > parts * part)
    route = np.where(unsettled, np.where(joining > 0, _SEGMENTS, _WALK), _SETTLED).astype(np.int8)
    return is_ucs2, parts, units, route


def _is_arrow_text(dtype: Any) -> bool:
    """Whether a Series of this dtype holds its texts in Arrow memory."""
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    return isinstance(dtype, pd.ArrowDtype) and (
        pa.types.is_string(dtype.pyarrow_dtype) or pa.types.is_large_string(dtype.pyarrow_dtype)
    )


def _arrow_texts(series: pd.Series) -> pa.LargeStringArray:
    """The texts of an Arrow-backed Series, read in place; a missing value raises."""
    array = pa.array(series.array)  # the Series' own buffers, no copy
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.null_count:
        raise _not_text_error(series)
    return array.cast(pa.large_string())


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values), distinct in order of first appearance.

    Groups rows by Python's own string hash (cached in each str, so cheap) and then checks
    that every row equals its group's first row; that is about twice as fast as
    ``pd.factorize`` on the strings.  A hash collision fails the check and falls back to it.
    """
    if len(values) == 0:
        return np.zeros(0, dtype=np.intp), values
    codes, _ = pd.factorize(np.fromiter(map(hash, values), dtype=np.int64, count=len(values)))
    # codes number the groups in order of appearance: a group starts where codes beat all before
    seen_max = np.maximum.accumulate(np.concatenate(([-1], codes[:-1])))
    distinct = values[np.flatnonzero(codes > seen_max)]
    if not (values == distinct[codes]).all():
        codes, uniques = pd.factorize(values)
        distinct = np.asarray(uniques, dtype=object)
    return codes, distinct


def _to_arrow(values: np.ndarray) -> tuple[pa.LargeStringArray, dict[int, str]]:
    """str values as an Arrow array, and by position the texts UTF-8 cannot hold.

    A Python str may hold a lone surrogate, which UTF-8 cannot: such a text is "" in the
    array and comes back apart, for segments() to count.
    """
    try:
        return pa.array(values, type=pa.large_string()), {}
    except UnicodeEncodeError:
        odd = {i: t for i, t in enumerate(values.tolist()) if spec.lone_surrogate_at(t) is not None}
        values = values.copy()
        values[list(odd)] = ""
        return pa.array(values, type=pa.large_string()), odd


def _repeats_often(values: np.ndarray) -> bool:
    """Whether texts repeat enough for grouping them first to pay (it costs about what
    converting three quarters of them to UTF-8 and counting them would).

    Judged on an evenly spaced sample: with d distinct texts, about k / 2d of a sample of k
    rows repeat an earlier one, so 2 % of 10,000 means at most ~250,000 distinct texts in
    any number of rows.  Only speed depends on the answer: both ways count exactly.
    """
    sample = values[:: max(1, len(values) // _SAMPLE_ROWS)].tolist()
    return len(sample) - len(set(sample)) >= _SAMPLE_REPEATS * len(sample)


def _python_texts(series: pd.Series) -> tuple[np.ndarray | None, pa.LargeStringArray, dict[int, str]]:
    """(codes or None, texts as Arrow, unencodable ones) of a Series of Python str.

    Converting to UTF-8 is most of the cost here, so when texts repeat often each distinct
    one is converted (and counted) once, and ``codes`` maps rows to them.  Anything that is
    not a str raises.
    """
    values = series.to_numpy(dtype=object)
    # checked here: pa.array would take bytes, and None as a null
    if pd.api.types.infer_dtype(values, skipna=False) not in ("string", "empty"):
        raise _not_text_error(series)
    if not _repeats_often(values):
        return None, *_to_arrow(values)
    codes, distinct = _factorize(values)
    return codes, *_to_arrow(distinct)


def _as_series(texts: pd.Series | Iterable[str]) -> pd.Series:
    if isinstance(texts, pd.Series):
        return texts
    if isinstance(texts, (str, bytes)):
        raise TypeError("segment_counts() needs many texts (a Series or a list); use segments() for one")
    if isinstance(texts, (Mapping, pd.DataFrame)) or not isinstance(texts, Iterable):
        raise TypeError(f"segment_counts() needs many texts (a Series or a list), got {type(texts).__name__}"
                        + (": pass pd.Series(d) for a mapping's values" if isinstance(texts, Mapping) else ""))
    return pd.Series(list(texts), dtype=object)


def _not_text_error(series: pd.Series) -> TypeError:
    """Name the rows that are not str (only built once something has gone wrong)."""
    rows = [i for i, value in enumerate(series.to_numpy(dtype=object)) if not isinstance(value, str)]
    labels = list(series.index[rows[:5]])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    value = series.iloc[rows[0]]
    return TypeError(
        f"segment_counts(): every text must be a str; rows {labels}{more} are not "
        f"(row {labels[0]!r} is {type(value).__name__} {value!r})"
    )


def _count_exactly(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is_ucs2, parts, units) from ``segments()`` itself, each distinct text counted once."""
    counted = {text: segments(text) for text in dict.fromkeys(texts)}
    rows = [counted[text] for text in texts]
    return (
        np.array([s.encoding == UCS2_NAME for s in rows], dtype=bool),
        np.array([s.segments for s in rows], dtype=np.int64),
        np.array([s.units for s in rows], dtype=np.int64),
    )


def _count_texts(array: pa.LargeStringArray, unencodable: dict[int, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is_ucs2, parts, units) of every text in ``array``, each by the cheapest exact route.

    ``unencodable`` holds by position the texts that stand as "" in the array.
    """
    lengths = pc.utf8_length(array).to_numpy().astype(np.int64, copy=False)
    is_ucs2, parts, units, route = _arithmetic_counts(lengths, _flag_counts(array))
    route[list(unencodable)] = _SEGMENTS
    walk = np.flatnonzero(route == _WALK)
    if len(walk):
        capacity = np.where(is_ucs2[walk], UCS2_PART, GSM7_PART)
        pair_flag = np.where(is_ucs2[walk], _ASTRAL_FLAG, _EXT_FLAG).astype(np.uint8)
        pair_row, pair_start = _pair_starts(array.take(pa.array(walk)), pair_flag)
        parts[walk] = _walk_boundaries(pair_row, pair_start, units[walk], capacity)
    rows = np.flatnonzero(route == _SEGMENTS)
    if len(rows):
        fetched = array.take(pa.array(rows)).to_pylist()
        exact_texts = [unencodable.get(i, text) for i, text in zip(rows.tolist(), fetched)]
        is_ucs2[rows], parts[rows], units[rows] = _count_exactly(exact_texts)
    return is_ucs2, parts, units


def segment_counts(texts: pd.Series | list[str]) -> pd.DataFrame:
    """``segments()`` for many texts at once (one per recipient in a personalised campaign).

    Returns a DataFrame[encoding (category), segments, units] with the input's index, equal
    row by row to ``segments()``.  Every text is counted with array kernels over its UTF-8
    bytes (GSM membership, extension, astral and joining characters).  Texts where an
    escape or surrogate pair may straddle a part boundary are packed exactly, also with
    arrays; only those where a grapheme cluster may, deduplicated, go to ``segments()``.
    An Arrow-backed Series is read in place; Python str are converted once per distinct text.

    >>> segment_counts(["Hi Ann", "Hi Zoë 👋"]).segments.tolist()
    [1, 1]
    """
    series = _as_series(texts)
    if _is_arrow_text(series.dtype):
        is_ucs2, parts, units = _count_texts(_arrow_texts(series), {})
    else:
        codes, array, unencodable = _python_texts(series)
        is_ucs2, parts, units = _count_texts(array, unencodable)
        if codes is not None:
            is_ucs2, parts, units = is_ucs2[codes], parts[codes], units[codes]
    return pd.DataFrame(
        {
            "encoding": pd.Categorical.from_codes(is_ucs2.astype(np.int8), dtype=_ENCODINGS),
            "segments": parts,
            "units": units,
        },
        index=series.index,
    )
