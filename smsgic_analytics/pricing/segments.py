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
import regex

from ..money import MoneyError, parse_money

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
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
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
    """Parts for a run of 1-unit characters and 2-unit pairs (escape or surrogate pairs).

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


def _ucs2_parts(text: str, units: int, graphemes: list[str] | None = None) -> int:
    """Parts of a UCS-2 text of ``units`` UTF-16 code units.

    ``graphemes=None`` promises every cluster is a single code point (no joining characters).
    """
    if units <= UCS2_SINGLE:
        return 1
    if graphemes is None:
        return _pairs_parts(units, (m.start() + k for k, m in enumerate(_ASTRAL.finditer(text))), UCS2_PART)
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
    return Segments(UCS2_NAME, _ucs2_parts(text, units, graphemes), units, forcing)


# --- many texts at once ----------------------------------------------------------------
# Code points that can glue to a neighbour in a grapheme cluster (UAX #29 rules GB6-GB13).
# A text without any of them has one cluster per code point (CR LF is split anyway).
_JOINING = regex.compile(
    r"[\p{GCB=Extend}\p{GCB=ZWJ}\p{GCB=SpacingMark}\p{GCB=Prepend}\p{GCB=Regional_Indicator}"
    r"\p{GCB=L}\p{GCB=V}\p{GCB=T}\p{GCB=LV}\p{GCB=LVT}]+"
)
# What each code point adds to four 16-bit counters packed in one int64, so that a single
# table lookup and a single sum per text count them all: not-GSM characters, extension
# characters, astral characters, and a bound on grapheme cluster width (see _count_distinct).
_FIELD_BITS = 16
_NOT_GSM_FIELD, _EXT_FIELD, _ASTRAL_FIELD, _CLUSTER_FIELD = 0, 1, 2, 3
_MAX_PACKED_LENGTH = (1 << _FIELD_BITS) // 4  # a joining code point adds up to 4: no overflow
_CHUNK_CODE_POINTS = 1 << 20  # bounds the temporary arrays to about 20 MB
_ENCODINGS = pd.CategoricalDtype([GSM7_NAME, UCS2_NAME])


@functools.cache
def _count_table() -> np.ndarray:
    """Per code point, its contribution to the packed counters (see _FIELD_BITS)."""
    one = [np.int64(1) << (_FIELD_BITS * field) for field in range(4)]
    table = np.full(0x110000, one[_NOT_GSM_FIELD], dtype=np.int64)
    table[[ord(c) for c in GSM7_BASIC]] = 0
    table[[ord(c) for c in GSM7_EXTENSION]] = one[_EXT_FIELD]
    table[0x10000:] += one[_ASTRAL_FIELD]
    every = "".join(map(chr, range(0x110000)))
    for m in _JOINING.finditer(every):  # its UTF-16 units + 2 (see _count_distinct)
        table[m.start() : m.end()] += one[_CLUSTER_FIELD] * np.where(np.arange(m.start(), m.end()) > 0xFFFF, 4, 3)
    return table


def _chunk_counts(texts: list[str], lengths: np.ndarray, ascii: bool) -> np.ndarray:
    """Per text (rows) its four counters (columns).  Texts must be shorter than _MAX_PACKED_LENGTH."""
    joined = "".join(texts)
    # ASCII texts travel as one byte per character: a quarter of the memory traffic of UTF-32
    code_points = np.frombuffer(
        joined.encode("ascii") if ascii else joined.encode("utf-32-le", "surrogatepass"),
        dtype=np.uint8 if ascii else np.uint32,
    )
    # mode="clip" takes numpy's fast path (no index check; every code point is in the table)
    contributions = np.take(_count_table(), code_points, mode="clip")
    packed = np.zeros(len(texts), dtype=np.int64)
    filled = lengths > 0  # reduceat needs strictly increasing, in-range starts: skip empty texts
    if filled.any():
        packed[filled] = np.add.reduceat(contributions, (np.cumsum(lengths) - lengths)[filled])
    mask = (1 << _FIELD_BITS) - 1
    return np.stack([(packed >> (_FIELD_BITS * field)) & mask for field in range(4)], axis=1)


def _cluster_bound(text: str) -> int:
    """The _CLUSTER_FIELD counter for one text: its joining code points' UTF-16 units + 2 each."""
    joining = "".join(_JOINING.findall(text))
    return _utf16_units(joining) + 2 * len(joining)


def _count_distinct(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(is_ucs2, segments, units) for each text, counted arithmetically where packing cannot
    change the result and exactly (by packing) for the few texts where it can."""
    n = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    is_ascii = np.fromiter(map(str.isascii, texts), dtype=bool, count=n)  # O(1) per str
    long = lengths >= _MAX_PACKED_LENGTH  # would overflow a counter: counted one by one below
    counts = np.zeros((n, 4), dtype=np.int64)
    for ascii in (True, False):
        rows = np.flatnonzero((is_ascii == ascii) & ~long)
        group = [texts[i] for i in rows.tolist()]
        chunk_of = (np.cumsum(lengths[rows]) - lengths[rows]) // _CHUNK_CODE_POINTS  # by where each starts
        cuts = [0, *(np.flatnonzero(np.diff(chunk_of)) + 1).tolist(), len(rows)]
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            counts[rows[lo:hi]] = _chunk_counts(group[lo:hi], lengths[rows[lo:hi]], ascii)
    for i in np.flatnonzero(long).tolist():
        text = texts[i]
        counts[i] = (
            len(_NOT_GSM.findall(text)),
            len(_EXT.findall(text)),
            len(_ASTRAL.findall(text)),
            _cluster_bound(text),
        )
    not_gsm, ext, astral, cluster = counts.T

    is_ucs2 = not_gsm > 0
    units = np.where(is_ucs2, lengths + astral, lengths + ext)
    single = np.where(is_ucs2, UCS2_SINGLE, GSM7_SINGLE)
    part = np.where(is_ucs2, UCS2_PART, GSM7_PART)
    parts = np.where(units <= single, 1, -(-units // part))
    # Packing can only add parts through items that straddle a boundary; one boundary wastes
    # at most (widest item - 1) units.  Items are 1 unit, 2 (escape or surrogate pair), or a
    # grapheme cluster.  In a cluster no two code points without a joining property touch
    # (UAX #29: every rule that glues two code points involves a joining one), so a cluster
    # is at most its joining code points' units + 2 each, + 2: that is cluster + 2.
    joining = is_ucs2 & (cluster > 0)
    widest = np.where(joining, cluster + 2, np.where(np.where(is_ucs2, astral, ext) > 0, 2, 1))
    # Then p parts always hold (part - waste) * (p - 1) + part units; up to that, p is exact.
    sure = (units <= single) | (units <= (part - (widest - 1)) * (parts - 1) + part)
    for i in np.flatnonzero(~sure).tolist():
        text, n_units = texts[i], int(units[i])
        if not is_ucs2[i]:
            parts[i] = _gsm7_parts(text, n_units)
        else:
            parts[i] = _ucs2_parts(text, n_units, _graphemes(text) if joining[i] else None)
    return is_ucs2, parts, units


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


def segment_counts(texts: pd.Series | list[str]) -> pd.DataFrame:
    """``segments()`` for many texts at once (one per recipient in a personalised campaign).

    Returns a DataFrame[encoding (category), segments, units] with the input's index, equal
    row by row to ``segments()``.  Each distinct text is counted once; plain texts are counted
    with array arithmetic, and only texts where packing could add a part take the exact route.

    >>> segment_counts(["Hi Ann", "Hi Zoë 👋"]).segments.tolist()
    [1, 1]
    """
    series = _as_series(texts)
    try:
        codes, distinct = _factorize(series.to_numpy(dtype=object))
    except TypeError:  # unhashable values
        raise _not_text_error(series) from None
    if (codes < 0).any() or pd.api.types.infer_dtype(distinct, skipna=False) not in ("string", "empty"):
        raise _not_text_error(series)
    is_ucs2, parts, units = _count_distinct(distinct.tolist())
    return pd.DataFrame(
        {
            "encoding": pd.Categorical.from_codes(is_ucs2.astype(np.int8)[codes], dtype=_ENCODINGS),
            "segments": parts[codes],
            "units": units[codes],
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
