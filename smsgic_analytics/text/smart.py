"""Smart encoding: the look-alike GSM-7 replacement of characters that force UCS-2 (curly quotes
to straight, dashes to ``-``, ellipsis to ``...``, odd spaces to space, zero-width characters
removed), as in common SMS calculators' "smart encoding" tables."""
from __future__ import annotations

import unicodedata

from .alphabet import GRAPHEME, GSM7, GSM7_BASIC, NOT_GSM

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


def replacement(grapheme: str) -> str | None:
    """The GSM-7 spelling of one user-perceived character, or None when there is none.

    NFC first, so a letter typed as letter + combining accent becomes the precomposed
    letter, which GSM may have (e + U+0301 -> é).
    """
    if NOT_GSM.search(grapheme) is None:
        return grapheme
    composed = unicodedata.normalize("NFC", grapheme)
    out = "".join(SMART_ENCODING.get(c, c) for c in composed)
    return out if NOT_GSM.search(out) is None else None


def smart_encode(text: str) -> str:
    """The text with every character that has a GSM-7 replacement replaced.

    Works per grapheme cluster: a cluster with no full GSM spelling (an emoji, a ZWJ family,
    Cyrillic) is left exactly as it is, so emoji sequences are never broken apart.

    >>> smart_encode("“Olá” – 20% off…")
    '"Ola" - 20% off...'
    """
    if not isinstance(text, str):
        raise TypeError(f"smart_encode() needs a str, got {type(text).__name__}: {text!r}")
    if NOT_GSM.search(text) is None:
        return text
    return "".join(r if (r := replacement(g)) is not None else g for g in GRAPHEME.findall(text))
