"""Where a text's SMS parts break, and its UCS-2 culprits in place: what the copy lab draws.

``part_starts(text)`` gives the code-point offsets at which parts 2, 3, ... begin, packed as
``segments`` counts them (an escape pair, a surrogate pair or a grapheme cluster is never split,
so it moves whole to the next part): ``len(part_starts(t)) + 1 == segments(t).segments``.
``marked_html(text)`` is the text as HTML with each character that forces UCS-2 highlighted
(its code points in the tooltip and beside it) and a numbered marker where each part begins.

>>> part_starts("a" * 161)
[153]
"""
from __future__ import annotations

import html

from .alphabet import EXTENSION, GRAPHEME, GSM7_PART, GSM7_SINGLE, NOT_GSM, UCS2_PART, UCS2_SINGLE


def _items(text: str) -> tuple[list[tuple[int, int]], int, int]:
    """(offset, size) of each item to pack, and the single-part and per-part capacities."""
    if NOT_GSM.search(text) is None:
        return [(i, 2 if EXTENSION.match(c) else 1) for i, c in enumerate(text)], GSM7_SINGLE, GSM7_PART
    items: list[tuple[int, int]] = []
    offset = 0
    for g in GRAPHEME.findall(text):
        pieces = list(g) if g == "\r\n" else [g]  # CR LF: two characters, as the reference calculator counts
        for piece in pieces:
            size = len(piece.encode("utf-16-le", "surrogatepass")) // 2
            if size <= UCS2_PART:
                items.append((offset, size))
            else:  # a cluster longer than a part: split between code points
                items += [(offset + k, 2 if c > "\uffff" else 1) for k, c in enumerate(piece)]
            offset += len(piece)
    return items, UCS2_SINGLE, UCS2_PART


def part_starts(text: str) -> list[int]:
    """Code-point offsets where parts 2, 3, ... of ``text`` begin (empty for a single part)."""
    items, single, part = _items(text)
    if sum(size for _, size in items) <= single:
        return []
    starts, free = [], part
    for offset, size in items:
        if size > free:
            starts.append(offset)
            free = part
        free -= size
    return starts


def marked_html(text: str) -> str:
    """``text`` as HTML: UCS-2 culprits in ``<mark>`` with their code points, and ``[2]``, ``[3]``...
    where each part begins."""
    breaks = {start: n for n, start in enumerate(part_starts(text), start=2)}
    out: list[str] = []
    offset = 0
    for g in GRAPHEME.findall(text):
        for k in range(len(g)):
            if offset + k in breaks:
                out.append(f"<span class='smsgic-part-break' title='part {breaks[offset + k]} starts here' "
                           f"style='color:#fff;background:#2563eb;border-radius:3px;padding:0 3px;"
                           f"font-size:75%'>{breaks[offset + k]}</span>")
        if NOT_GSM.search(g):
            points = " ".join(f"U+{ord(c):04X}" for c in g)
            out.append(f"<mark class='smsgic-culprit' title='{points} forces UCS-2' style='background:#fde68a'>"
                       f"{html.escape(g)}<sub style='color:#92400e'>{points}</sub></mark>")
        else:
            out.append(html.escape(g).replace("\n", "<br>"))
        offset += len(g)
    return "<span style='white-space:pre-wrap;font-family:monospace'>" + "".join(out) + "</span>"
