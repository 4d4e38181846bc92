"""The GSM 03.38 alphabet (3GPP TS 23.038) and the SMS part sizes (3GPP TS 23.040): the one home
of both.  A text is GSM-7 when every character is in the basic set (1 septet) or the extension
set (2 septets: escape + character); anything else forces UCS-2, counted in UTF-16 code units.
One part holds 160 septets / 70 units; each part of a concatenated message 153 / 67 (the rest
is the concatenation header)."""
from __future__ import annotations

import re
from typing import Literal

import regex

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
NOT_GSM = re.compile("[^" + re.escape("".join(sorted(GSM7))) + "]")
EXTENSION = re.compile("[" + re.escape("".join(sorted(GSM7_EXTENSION))) + "]")
GRAPHEME = regex.compile(r"\X")
