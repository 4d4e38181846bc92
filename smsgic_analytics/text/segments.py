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

from dataclasses import dataclass
from itertools import accumulate
from typing import Iterable

from .alphabet import (
    EXTENSION,
    GRAPHEME,
    GSM7_NAME,
    GSM7_PART,
    GSM7_SINGLE,
    NOT_GSM,
    UCS2_NAME,
    UCS2_PART,
    UCS2_SINGLE,
    Encoding,
)


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
        return GRAPHEME.findall(text)
    out: list[str] = []
    for g in GRAPHEME.findall(text):
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
    return _pairs_parts(units, (m.start() + k for k, m in enumerate(EXTENSION.finditer(text))), GSM7_PART)


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
    if NOT_GSM.search(text) is None:
        units = len(text) + len(EXTENSION.findall(text))
        return Segments(GSM7_NAME, _gsm7_parts(text, units), units, [])
    units = _utf16_units(text)
    graphemes = _graphemes(text)
    forcing = [g for g in dict.fromkeys(graphemes) if NOT_GSM.search(g)]
    return Segments(UCS2_NAME, _ucs2_parts(units, graphemes), units, forcing)


def _pack_starts(sizes: list[int], capacity: int) -> list[int]:
    """The item indexes where parts 2, 3, ... start, by the same greedy packing as ``_pack``."""
    starts, free = [], capacity
    for i, size in enumerate(sizes):
        if size > free:
            starts.append(i)
            free = capacity
        free -= size
    return starts


def part_breaks(text: str) -> list[int]:
    """Where each part after the first starts, as offsets into ``text`` (``len(...) + 1`` parts).

    The same packing as ``segments``: an escape pair, surrogate pair or grapheme cluster is
    never cut, so a break always falls between characters a reader sees.

    >>> part_breaks("a" * 200)
    [153]
    """
    s = segments(text)
    if s.segments == 1:
        return []
    if s.encoding == GSM7_NAME:
        sizes = [2 if EXTENSION.fullmatch(c) else 1 for c in text]
        return _pack_starts(sizes, GSM7_PART)
    graphemes = _graphemes(text)
    sizes = [_utf16_units(g) for g in graphemes]
    if max(sizes, default=0) > UCS2_PART:  # a cluster longer than a part is cut between code points
        graphemes = [c for g in graphemes for c in (g if _utf16_units(g) > UCS2_PART else [g])]
        sizes = [_utf16_units(g) for g in graphemes]
    offsets = list(accumulate((len(g) for g in graphemes), initial=0))
    return [offsets[i] for i in _pack_starts(sizes, UCS2_PART)]
