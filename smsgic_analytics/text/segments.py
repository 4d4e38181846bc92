"""How many SMS parts a text costs: GSM-7 / UCS-2 segment counting and the encoding advisor.

The GSM 03.38 alphabet lives here and nowhere else.  A text is GSM-7 when every character
is in the basic set (1 septet) or the extension set (2 septets: escape + character);
anything else forces UCS-2, counted in UTF-16 code units.  One part holds 160 septets /
70 units; a longer text is cut into parts of 153 septets / 67 units (the rest of each
part is the concatenation header).  Parts are counted by packing, not by dividing: an
escape pair, a surrogate pair or a grapheme cluster (emoji with skin tone, flag, ZWJ
family, letter + combining mark) is never split, so it moves whole to the next part.

Reference behaviour: Twilio's Message Segment Calculator.  Like it, a CR LF pair counts as
two separate characters (both GSM), although Unicode calls it one grapheme cluster.

>>> segments("Hello {name}")  # '{' and '}' are extension characters: 2 septets each
Segments(encoding='GSM-7', segments=1, units=14, ucs2_chars=[])
"""
from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Literal, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import regex

from ..core.money import MoneyError, parse_money

# --- the GSM 03.38 alphabet -----------------------------------------------------------

# Basic set in code order 0x00..0x7F, without 0x1B (the escape to the extension set).
_BASIC_IN_CODE_ORDER = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM7_BASIC: frozenset[str] = frozenset(_BASIC_IN_CODE_ORDER)
"""The 127 characters of the GSM 03.38 basic set: 1 septet each."""

GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[~]|€")
"""The extension set (form feed and ``^{}\\[~]|€``): escape + character, 2 septets each."""

GSM7: frozenset[str] = GSM7_BASIC | GSM7_EXTENSION

GSM7_NAME = "GSM-7"
UCS2_NAME = "UCS-2"
Encoding = Literal["GSM-7", "UCS-2"]

# Part sizes: a single-part message, and each part of a concatenated one.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# Plain character classes run several times faster in the standard library's re; the
# regex module is kept for what only it has (\X grapheme clusters, \p{GCB=...}).
_NOT_GSM = re.compile("[^" + re.escape("".join(sorted(GSM7))) + "]")
_EXT = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")
_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True, slots=True)
class Segments:
    """The cost of one text: encoding, number of parts, units (septets or UTF-16 code units).

    ``ucs2_chars`` lists the distinct characters as a reader sees them (grapheme clusters),
    in order of first appearance, that force UCS-2; empty for a GSM-7 text.
    """

    encoding: Encoding
    segments: int
    units: int
    ucs2_chars: list[str]


def _utf16_units(chars: str) -> int:
    # surrogatepass: a lone surrogate (possible in a Python str) is one unit, not an error
    return len(chars.encode("utf-16-le", "surrogatepass")) // 2


def _pack(sizes: list[int], capacity: int) -> int:
    """Greedy packing: an item that does not fit in what is left of a part starts the next."""
    parts, free = 1, capacity
    for size in sizes:
        if size > free:
            parts += 1
            free = capacity
        free -= size
    return parts


def _graphemes(text: str) -> list[str]:
    """Grapheme clusters, with CR LF as two characters (as the reference calculator does)."""
    if "\r\n" not in text:
        return _GRAPHEME.findall(text)
    out: list[str] = []
    for g in _GRAPHEME.findall(text):
        if g == "\r\n":
            out += ["\r", "\n"]
        else:
            out.append(g)
    return out


def _ucs2_sizes(graphemes: list[str]) -> list[int]:
    """Unit size of each item to pack.

    A cluster longer than a whole part (say a letter under 70 stacked accents) cannot stay
    whole; it is then split between code points, never inside a surrogate pair.
    """
    # one code point: 1 unit below U+10000, else a surrogate pair
    sizes = [(1 if g < "\U00010000" else 2) if len(g) == 1 else _utf16_units(g) for g in graphemes]
    if max(sizes, default=0) <= UCS2_PART:
        return sizes
    split: list[int] = []
    for g, size in zip(graphemes, sizes):
        split += [size] if size <= UCS2_PART else [2 if c > "\uffff" else 1 for c in g]
    return split


def _pairs_parts(units: int, pair_starts: Iterable[int], capacity: int) -> int:
    """Parts for a run of 1-unit characters and 2-unit escape pairs.

    ``pair_starts`` are the pairs' unit offsets, in order.  A pair that would start on the
    last unit of a part moves whole to the next, wasting that unit and shifting the rest.
    """
    waste = 0
    for start in pair_starts:
        if (start + waste) % capacity == capacity - 1:
            waste += 1
    return -(-(units + waste) // capacity)


def _gsm7_parts(text: str, units: int) -> int:
    """Parts of a GSM-7 text of ``units`` septets."""
    if units <= GSM7_SINGLE:
        return 1
    # an extension char at code point i, after k others, starts at septet i + k
    return _pairs_parts(units, (m.start() + k for k, m in enumerate(_EXT.finditer(text))), GSM7_PART)


def _ucs2_parts(units: int, graphemes: list[str]) -> int:
    """Parts of a UCS-2 text of ``units`` UTF-16 code units, cut into ``graphemes``."""
    if units <= UCS2_SINGLE:
        return 1
    return _pack(_ucs2_sizes(graphemes), UCS2_PART)


def segments(text: str) -> Segments:
    """Count the SMS parts of one text, by packing.

    >>> segments("Café €5").units            # '€' is an extension char: 2 septets
    8
    >>> segments("Hi 👋").encoding, segments("Hi 👋").units
    ('UCS-2', 5)
    """
    if not isinstance(text, str):
        raise TypeError(f"segments() needs a str, got {type(text).__name__}: {text!r}")
    if _NOT_GSM.search(text) is None:
        units = len(text) + len(_EXT.findall(text))
        return Segments(GSM7_NAME, _gsm7_parts(text, units), units, [])
    units = _utf16_units(text)
    graphemes = _graphemes(text)
    forcing = [g for g in dict.fromkeys(graphemes) if _NOT_GSM.search(g)]
    return Segments(UCS2_NAME, _ucs2_parts(units, graphemes), units, forcing)


# --- many texts at once ----------------------------------------------------------------
# Code points that can glue to a neighbour in a grapheme cluster (UAX #29 rules GB6-GB13).
# A text without any of them has one cluster per code point (CR LF is split anyway).
_JOINING = regex.compile(
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=Regional_Indicator}"
    r"\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}]+"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
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
        odd = {i: t for i, t in enumerate(values.tolist()) if _SURROGATE.search(t)}
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



# --- smart encoding ---------------------------------------------------------------------

_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u275d\u275e\u301d\u301e"
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u00b4\u0060\uff40\u2039\u203a\u02bb\u02bc\u02b9\u275b\u275c"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\u2022\ufe58\ufe63"
_SPACES = "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_LINE_BREAKS = "\u2028\u2029\u0085"
_ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u00ad\ufe0e\ufe0f"
# Latin letters without a decomposition, and accents better kept in a GSM letter than dropped.
_LETTERS = {
    "ð": "d", "Ð": "D", "đ": "d", "Đ": "D", "þ": "th", "Þ": "Th", "ħ": "h", "Ħ": "H",
    "ı": "i", "ĳ": "ij", "Ĳ": "IJ", "ŀ": "l", "Ŀ": "L", "ł": "l", "Ł": "L", "ŉ": "'n",
    "œ": "oe", "Œ": "OE", "ŧ": "t", "Ŧ": "T", "ſ": "s", "ĸ": "k", "ŋ": "n", "Ŋ": "N",
    "ő": "ö", "Ő": "Ö", "ű": "ü", "Ű": "Ü",  # Hungarian double acute: the umlaut is closer
    "ª": "a", "º": "o",
}
_SYMBOLS = {
    "\u2026": "...", "\u203c": "!!", "\u00d7": "x", "\u00f7": "/", "\u2044": "/", "\u2215": "/",
    "\u00bc": "1/4", "\u00bd": "1/2", "\u00be": "3/4", "\u2217": "*", "\u2223": "|",
    "\u3001": ",", "\u3002": ".", "\u02c6": "^", "\u02dc": "~", "\u223c": "~",
}


def _closest_gsm_letter(char: str) -> str | None:
    """'á' -> 'a', 'ǟ' -> 'ä', 'Ǿ' -> 'Ø': drop accents until a GSM letter is left."""
    base, *marks = unicodedata.normalize("NFD", char)
    if not marks or base not in GSM7_BASIC or not all(unicodedata.combining(m) for m in marks):
        return None
    for keep in range(len(marks) - 1, 0, -1):
        composed = unicodedata.normalize("NFC", base + "".join(marks[:keep]))
        if composed in GSM7_BASIC:
            return composed
    return base


def _build_smart_encoding() -> dict[str, str]:
    table: dict[str, str] = {}
    table.update(dict.fromkeys(_DOUBLE_QUOTES, '"'))
    table.update(dict.fromkeys(_SINGLE_QUOTES, "'"))
    table.update(dict.fromkeys(_DASHES, "-"))
    table.update(dict.fromkeys(_SPACES, " "))
    table.update(dict.fromkeys(_LINE_BREAKS, "\n"))
    table.update(dict.fromkeys(_ZERO_WIDTH, ""))
    table.update(_SYMBOLS)
    table.update(_LETTERS)
    # Stray combining accents (those NFC could not fold into a letter) are dropped.
    table.update(dict.fromkeys(map(chr, range(0x0300, 0x0370)), ""))
    # Accented Latin letters outside GSM: Latin-1, Extended-A/B, Extended Additional.
    for cp in [*range(0x00C0, 0x0250), *range(0x1E00, 0x1F00)]:
        char = chr(cp)
        if char not in GSM7 and char not in table and (letter := _closest_gsm_letter(char)):
            table[char] = letter
    # Full-width ASCII (ＡＢＣ１２３！): its compatibility form, when that is GSM.
    for cp in range(0xFF01, 0xFF5F):
        plain = unicodedata.normalize("NFKC", chr(cp))
        if all(c in GSM7 for c in plain):
            table.setdefault(chr(cp), plain)
    return table


SMART_ENCODING: dict[str, str] = _build_smart_encoding()
"""Character -> GSM-7 replacement: the one table ``smart_encode`` and ``advise`` use.

Curly quotes to straight, dashes and bullets to ``-``, ellipsis to ``...``, odd spaces and
tab to a space, zero-width characters removed, accented letters outside GSM to the closest
GSM letter (``á`` -> ``a``, while GSM's own ``é à ñ ü Ç`` stay).  Every value is GSM-7.
"""


def _replacement(grapheme: str) -> str | None:
    """The GSM-7 spelling of one user-perceived character, or None when there is none.

    NFC first, so a letter typed as letter + combining accent becomes the precomposed
    letter, which GSM may have (e + U+0301 -> é).
    """
    if _NOT_GSM.search(grapheme) is None:
        return grapheme
    composed = unicodedata.normalize("NFC", grapheme)
    out = "".join(SMART_ENCODING.get(c, c) for c in composed)
    return out if _NOT_GSM.search(out) is None else None


def smart_encode(text: str) -> str:
    """The text with every character that has a GSM-7 replacement replaced.

    Works per grapheme cluster: a cluster with no full GSM spelling (an emoji, a ZWJ family,
    Cyrillic) is left exactly as it is, so emoji sequences are never broken apart.

    >>> smart_encode("“Olá” – 20% off…")
    '"Ola" - 20% off...'
    """
    if not isinstance(text, str):
        raise TypeError(f"smart_encode() needs a str, got {type(text).__name__}: {text!r}")
    if _NOT_GSM.search(text) is None:
        return text
    return "".join(r if (r := _replacement(g)) is not None else g for g in _GRAPHEME.findall(text))


# --- the advisor ------------------------------------------------------------------------


class Forcing(NamedTuple):
    """A character that forces UCS-2, where it is (code point offsets into the text), and its
    GSM-7 replacement ('' means remove it; None means there is none)."""

    char: str
    positions: list[int]
    replacement: str | None


def _as_decimal(value: Any, what: str) -> Decimal:
    """A rate >= 0 (``money.parse_money``; a float a person typed is read through its shortest text)."""
    try:
        number = parse_money(value, what, floats=True)
    except MoneyError as exc:
        raise ValueError(f"{what} must be a number: {exc}") from None
    if number < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}")
    return number


def _quote_rates(quote: Any) -> list[Decimal]:
    numbers = getattr(quote, "numbers", None)
    if not isinstance(numbers, pd.DataFrame) or "rate" not in numbers.columns:
        raise TypeError("quote must have a .numbers DataFrame with a 'rate' column (as Client.calculate() returns)")
    return [_as_decimal(r, f"quote.numbers row {label!r}: rate") for label, r in numbers["rate"].items()]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if abs(n) == 1 else 's'}"


def _code_points(chars: str) -> str:
    return " ".join(f"U+{ord(c):04X}" for c in chars)


@dataclass(frozen=True)
class Advice:
    """What the characters that force UCS-2 cost, and what ``smart_encode`` would save.

    Nothing is changed: ``suggested_text`` is a proposal.  ``segments_saved`` is per message
    (negative if the suggestion is longer); ``money_saved`` is set when a rate or a quote
    was given, exact, for all recipients.
    """

    text: str
    suggested_text: str
    now: Segments
    after: Segments
    forcing: list[Forcing]
    recipients: int
    rate: Decimal | None = None
    money_saved: Decimal | None = None

    @property
    def segments_now(self) -> int:
        return self.now.segments

    @property
    def segments_after(self) -> int:
        return self.after.segments

    @property
    def segments_saved(self) -> int:
        return self.now.segments - self.after.segments

    @property
    def parts_saved(self) -> int:
        """Parts saved over the whole audience."""
        return self.segments_saved * self.recipients

    def to_frame(self) -> pd.DataFrame:
        """One row per forcing character: char, code_points, positions, count, replacement."""
        # object columns: keep None (no replacement) apart from "" (remove)
        return pd.DataFrame(
            {
                "char": pd.Series([f.char for f in self.forcing], dtype=object),
                "code_points": pd.Series([_code_points(f.char) for f in self.forcing], dtype=object),
                "positions": pd.Series([f.positions for f in self.forcing], dtype=object),
                "count": pd.Series([len(f.positions) for f in self.forcing], dtype=np.int64),
                "replacement": pd.Series([f.replacement for f in self.forcing], dtype=object),
            }
        )

    def _lines(self) -> tuple[str, list[str], str]:
        unit = "septets" if self.now.encoding == GSM7_NAME else "units"
        head = f"Now: {self.now.encoding}, {_plural(self.segments_now, 'part')} ({self.now.units} {unit}) per message."
        if not self.forcing:
            return head, [], "Already GSM-7: nothing to replace."
        unit = "septets" if self.after.encoding == GSM7_NAME else "units"
        parts = _plural(self.segments_after, "part")
        saving = f"Suggested text: {self.after.encoding}, {parts} ({self.after.units} {unit})"
        if self.segments_saved > 0:
            saving += f"; saves {_plural(self.segments_saved, 'part')} per message"
            if self.recipients != 1:
                saving += f", {self.parts_saved} for {self.recipients} recipients"
        elif self.segments_saved < 0:
            saving += f"; costs {_plural(-self.segments_saved, 'part')} more per message"
        else:
            saving += "; saves no part"
        if self.after.ucs2_chars:
            saving += f"; still UCS-2 because of {', '.join(map(repr, self.after.ucs2_chars))}"
        if self.money_saved is not None:
            rate = f" at {self.rate} per part" if self.rate is not None else " at the quoted rates"
            saving += f"; money saved {self.money_saved}{rate}"
        rows = [
            f"{f.char!r} {_code_points(f.char)} at {f.positions} -> "
            + ("no GSM-7 replacement" if f.replacement is None else repr(f.replacement) if f.replacement else "remove")
            for f in self.forcing
        ]
        return head, rows, saving + "."

    def __str__(self) -> str:
        head, rows, saving = self._lines()
        middle = [f"{_plural(len(rows), 'character')} force UCS-2:", *("  " + r for r in rows)] if rows else []
        return "\n".join([head, *middle, saving])

    def _repr_html_(self) -> str:
        head, _, saving = self._lines()
        cells = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    repr(f.char),
                    _code_points(f.char),
                    ", ".join(map(str, f.positions)),
                    "—" if f.replacement is None else repr(f.replacement) if f.replacement else "(remove)",
                )
            )
            + "</tr>"
            for f in self.forcing
        )
        table = (
            "<table><thead><tr><th>character</th><th>code points</th><th>positions</th>"
            f"<th>replacement</th></tr></thead><tbody>{cells}</tbody></table>"
            if self.forcing
            else ""
        )
        return f"<div><p>{html.escape(head)}</p>{table}<p>{html.escape(saving)}</p></div>"


def advise(
    text: str,
    rate: Decimal | float | None = None,
    recipients: int = 1,
    *,
    quote: Any = None,
) -> Advice:
    """Name the characters that force UCS-2 and what replacing them would save.

    ``rate`` is the price of one SMS part; ``recipients`` how many receive the text.  Or pass
    ``quote`` (anything with a ``.numbers`` DataFrame with a ``rate`` column, such as
    ``Client.calculate()``'s result): money saved is then the sum over its numbers.

    >>> a = advise("Olá! A promoção “VIP” termina hoje – use o código VERAO e poupe 20% já.",
    ...            rate="0.04", recipients=1000)
    >>> a.segments_now, a.segments_after, a.money_saved
    (2, 1, Decimal('40.00'))
    >>> a.suggested_text
    'Ola! A promocao "VIP" termina hoje - use o codigo VERAO e poupe 20% ja.'
    >>> print(a)  # doctest: +ELLIPSIS
    Now: UCS-2, 2 parts (71 units) per message.
    7 characters force UCS-2:
      'á' U+00E1 at [2, 69] -> 'a'
    ...
    """
    if isinstance(recipients, bool) or not isinstance(recipients, (int, np.integer)) or recipients < 0:
        raise ValueError(f"recipients must be a whole number >= 0, got {recipients!r}")
    if rate is not None and quote is not None:
        raise ValueError("give either rate (with recipients) or quote, not both")
    now = segments(text)
    forcing: dict[str, list[int]] = {}
    offset = 0
    for g in _GRAPHEME.findall(text):
        if _NOT_GSM.search(g):
            forcing.setdefault(g, []).append(offset)
        offset += len(g)
    suggested = smart_encode(text)
    after = segments(suggested)
    saved = now.segments - after.segments
    money: Decimal | None = None
    unit_rate: Decimal | None = None
    if quote is not None:
        rates = _quote_rates(quote)
        if recipients not in (1, len(rates)):
            raise ValueError(f"recipients={recipients} disagrees with the quote's {len(rates)} numbers")
        recipients = len(rates)
        money = sum(rates, Decimal(0)) * saved
    elif rate is not None:
        unit_rate = _as_decimal(rate, "rate")
        money = unit_rate * saved * int(recipients)
    return Advice(
        text=text,
        suggested_text=suggested,
        now=now,
        after=after,
        forcing=[Forcing(g, p, _replacement(g)) for g, p in forcing.items()],
        recipients=int(recipients),
        rate=unit_rate,
        money_saved=money,
    )
