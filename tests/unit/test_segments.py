"""Segment counting, smart encoding and the advisor, checked against known cases and
against an independent, deliberately slow reference packer written here."""
from __future__ import annotations

import doctest
import random
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from smsgic_analytics.text import counts as counts_module
from smsgic_analytics.text import segments as segments_module
from smsgic_analytics.text.advice import Advice, advise
from smsgic_analytics.text.counts import segment_counts
from smsgic_analytics.text.segments import segments
from smsgic_analytics.text.smart import SMART_ENCODING, smart_encode

# --- an independent oracle ------------------------------------------------------------------
# The GSM 03.38 default alphabet, typed from the 3GPP TS 23.038 table (code -> character),
# not imported from the module under test.
REF_BASIC = {
    0x00: "@", 0x01: "£", 0x02: "$", 0x03: "¥", 0x04: "è", 0x05: "é", 0x06: "ù", 0x07: "ì",
    0x08: "ò", 0x09: "Ç", 0x0A: "\n", 0x0B: "Ø", 0x0C: "ø", 0x0D: "\r", 0x0E: "Å", 0x0F: "å",
    0x10: "Δ", 0x11: "_", 0x12: "Φ", 0x13: "Γ", 0x14: "Λ", 0x15: "Ω", 0x16: "Π", 0x17: "Ψ",
    0x18: "Σ", 0x19: "Θ", 0x1A: "Ξ", 0x1C: "Æ", 0x1D: "æ", 0x1E: "ß", 0x1F: "É",
    0x24: "¤", 0x40: "¡", 0x5B: "Ä", 0x5C: "Ö", 0x5D: "Ñ", 0x5E: "Ü", 0x5F: "§",
    0x60: "¿", 0x7B: "ä", 0x7C: "ö", 0x7D: "ñ", 0x7E: "ü", 0x7F: "à",
}
# 0x20-0x7F not listed above are the ASCII characters with the same code.
REF_BASIC.update({code: chr(code) for code in range(0x20, 0x80) if code not in REF_BASIC})
REF_EXTENSION = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\", 0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}
REF_SEPTETS = {**{c: 1 for c in REF_BASIC.values()}, **{c: 2 for c in REF_EXTENSION.values()}}


def reference_parts(text: str) -> tuple[str, list[str]]:
    """Cut ``text`` into SMS parts the slow way: walk it, filling one part after another.

    Items are characters (GSM-7) or grapheme clusters (UCS-2, CR LF counted as two
    characters); an item that does not fit in what is left starts a new part; a cluster
    bigger than a whole part is fed code point by code point.
    """

    def utf16(s: str) -> int:
        return sum(2 if ord(ch) >= 0x10000 else 1 for ch in s)

    if all(ch in REF_SEPTETS for ch in text):
        encoding, single, per_part, cost = "GSM-7", 160, 153, (lambda s: sum(REF_SEPTETS[ch] for ch in s))
        items = list(text)
    else:
        encoding, single, per_part, cost = "UCS-2", 70, 67, utf16
        items = []
        for cluster in regex.findall(r"\X", text):
            items += list(cluster) if cluster == "\r\n" or utf16(cluster) > per_part else [cluster]
    if cost(text) <= single:
        return encoding, [text]
    parts = [""]
    for item in items:
        if cost(parts[-1]) + cost(item) > per_part:
            parts.append("")
        parts[-1] += item
    return encoding, parts


def reference(text: str) -> tuple[str, int, int]:
    encoding, parts = reference_parts(text)
    if encoding == "GSM-7":
        units = sum(REF_SEPTETS[ch] for ch in text)
    else:
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    return encoding, len(parts), units


def as_tuple(text: str) -> tuple[str, int, int]:
    s = segments(text)
    return s.encoding, s.segments, s.units


# --- text strategies ------------------------------------------------------------------------

GSM_BASIC_CHARS = "".join(REF_BASIC.values())
PIECES = [
    *GSM_BASIC_CHARS,
    *REF_EXTENSION.values(),
    "\r\n", "\t", "`", "ç", "á", "ő", "ã", "Ł", "“", "”", "’", "–", "…", "\u00a0", "\u200b",
    "😀", "👍🏽", "🇫🇷", "🇬🇧", "👨\u200d👩\u200d👧", "❤\ufe0f", "e\u0301", "n\u0303", "\u0301", "\u0308",
    "한", "\u1100\u1161", "क्षि", "Привет", "日本",
]
piece = st.sampled_from(PIECES)
gsm_piece = st.sampled_from([*GSM_BASIC_CHARS, *REF_EXTENSION.values(), "\r\n"])
any_char = st.characters(codec="utf-8")  # all of Unicode except lone surrogates
mixed_text = st.lists(st.one_of(piece, piece, piece, any_char), max_size=320).map("".join)
gsm_text = st.lists(gsm_piece, max_size=480).map("".join)
# a filler run, then a piece, then more filler: puts the piece on every possible boundary
boundary_text = st.builds(
    lambda filler, n, p, m: filler * n + p + filler * m,
    st.sampled_from(["a", "á", "€", "😀"]),
    st.integers(0, 170),
    piece,
    st.integers(0, 170),
)
texts = st.one_of(mixed_text, gsm_text, boundary_text)
# Example counts come from the Hypothesis profile (tests/conftest.py: ``ci``, ``thorough``); the
# packing properties are the ones the counter's bugs showed up in, so they take a multiple of it.
PACKING = settings(max_examples=5 * settings.default.max_examples)
KERNELS = settings(max_examples=3 * settings.default.max_examples)


# --- the alphabet -------------------------------------------------------------------------------


def test_alphabet_matches_3gpp_table():
    """Every code point of the BMP (lone surrogates and U+001B, the escape itself, included) and
    a sample of astral ones, as a one-character text: 1 septet in the basic table, 2 in the
    extension table, UCS-2 otherwise.  Checked through ``segments`` and ``segment_counts``,
    against the table typed above, never against the module's own sets."""
    assert len(REF_BASIC) == 127 and len(REF_EXTENSION) == 10  # TS 23.038 6.2.1: 128 codes less ESC; 6.2.1.1
    chars = [chr(c) for c in range(0x10000)] + [chr(c) for c in range(0x10000, 0x110000, 997)]
    expected = [("GSM-7", 1, REF_SEPTETS[ch]) if ch in REF_SEPTETS else ("UCS-2", 1, 1 if ch <= "\uffff" else 2)
                for ch in chars]
    assert [as_tuple(ch) for ch in chars] == expected
    frame = segment_counts(pd.Series(chars, dtype=object))
    assert counts_as_tuples(frame) == expected


# --- known cases ------------------------------------------------------------------------------

A, AA = "a", "á"  # one septet / one UCS-2 unit that forces UCS-2
FAMILY = "👨\u200d👩\u200d👧"  # 8 UTF-16 units, one grapheme cluster
STACK = "a" + "\u0301" * 100  # one cluster of 101 units: longer than a part
KNOWN = [
    # text, encoding, segments, units, ucs2_chars
    pytest.param("", "GSM-7", 1, 0, [], id="empty"),
    pytest.param(A * 160, "GSM-7", 1, 160, [], id="160 GSM fits one part"),
    pytest.param(A * 161, "GSM-7", 2, 161, [], id="161 GSM needs two"),
    pytest.param(A * 306, "GSM-7", 2, 306, [], id="306 = 2 x 153"),
    pytest.param(A * 307, "GSM-7", 3, 307, [], id="307 needs three"),
    pytest.param("é" * 160, "GSM-7", 1, 160, [], id="GSM's own accents are 1 septet"),
    pytest.param(AA * 70, "UCS-2", 1, 70, ["á"], id="70 UCS-2 fits one part"),
    pytest.param(AA * 71, "UCS-2", 2, 71, ["á"], id="71 UCS-2 needs two"),
    pytest.param(AA * 134, "UCS-2", 2, 134, ["á"], id="134 = 2 x 67"),
    pytest.param(AA * 135, "UCS-2", 3, 135, ["á"], id="135 needs three"),
    pytest.param(A * 158 + "€", "GSM-7", 1, 160, [], id="euro counts 2 septets: 160"),
    pytest.param(A * 159 + "€", "GSM-7", 2, 161, [], id="euro counts 2 septets: 161"),
    pytest.param("€", "GSM-7", 1, 2, [], id="euro alone"),
    pytest.param("€á", "UCS-2", 1, 2, ["á"], id="euro is 1 unit in UCS-2"),
    pytest.param("^{}\\[~]|\f", "GSM-7", 1, 18, [], id="whole extension set"),
    # an escape pair on the 153rd septet moves whole to the next part
    pytest.param(A * 152 + "€" + A * 152, "GSM-7", 3, 306, [], id="escape pair pushed at boundary"),
    pytest.param(A * 151 + "€" + A * 153, "GSM-7", 2, 306, [], id="escape pair just fits"),
    # a surrogate pair on the 67th unit moves whole to the next part
    pytest.param(AA * 66 + "😀" + AA * 66, "UCS-2", 3, 134, ["á", "😀"], id="emoji pushed at boundary"),
    pytest.param(AA * 65 + "😀" + AA * 67, "UCS-2", 2, 134, ["á", "😀"], id="emoji just fits"),
    pytest.param("😀" * 35, "UCS-2", 1, 70, ["😀"], id="35 emoji = 70 units"),
    pytest.param("😀" * 35 + A, "UCS-2", 2, 71, ["😀"], id="35 emoji + 1"),
    # clusters stay whole (code-point packing would give 2 parts in each of these)
    pytest.param(AA * 65 + "🇫🇷" + AA * 64, "UCS-2", 3, 133, ["á", "🇫🇷"], id="flag not split"),
    pytest.param(AA * 65 + "👍🏽" + AA * 64, "UCS-2", 3, 133, ["á", "👍🏽"], id="skin tone not split"),
    pytest.param(AA * 62 + FAMILY + AA * 64, "UCS-2", 3, 134, ["á", FAMILY], id="ZWJ family not split"),
    pytest.param(AA * 66 + "e\u0301" + AA * 66, "UCS-2", 3, 134, ["á", "e\u0301"], id="letter+combining not split"),
    # CR LF: two independent GSM characters, as in the reference calculator
    pytest.param(A * 152 + "\r\n" + A * 152, "GSM-7", 2, 306, [], id="CRLF may straddle"),
    pytest.param(AA * 66 + "\r\n" + AA * 66, "UCS-2", 2, 134, ["á"], id="CRLF may straddle in UCS-2"),
    # a cluster longer than a part cannot stay whole: split between code points
    pytest.param("a" + "\u0301" * 100, "UCS-2", 2, 101, ["a" + "\u0301" * 100], id="overlong cluster"),
    pytest.param(AA * 60 + STACK, "UCS-2", 3, 161, ["á", STACK], id="overlong cluster fills parts"),
    # what forces UCS-2, and what does not
    pytest.param("a\tb", "UCS-2", 1, 3, ["\t"], id="tab"),
    pytest.param("`", "UCS-2", 1, 1, ["`"], id="backtick"),
    pytest.param("ç", "UCS-2", 1, 1, ["ç"], id="lower-case c cedilla"),
    pytest.param("Ç", "GSM-7", 1, 1, [], id="capital C cedilla is GSM"),
    pytest.param("á", "UCS-2", 1, 1, ["á"], id="a acute"),
    pytest.param("“hi” ‘x’", "UCS-2", 1, 8, ["“", "”", "‘", "’"], id="curly quotes"),
    pytest.param("bçaáçá", "UCS-2", 1, 6, ["ç", "á"], id="distinct, in order"),
    pytest.param("e\u0301", "UCS-2", 1, 2, ["e\u0301"], id="separate combining accent"),
    pytest.param("\ud83d", "UCS-2", 1, 1, ["\ud83d"], id="lone surrogate is one unit"),
    pytest.param("Hello\r\nWorld", "GSM-7", 1, 12, [], id="CRLF is GSM"),
]


@pytest.mark.parametrize("text, encoding, parts, units, ucs2_chars", KNOWN)
def test_known_cases(text, encoding, parts, units, ucs2_chars):
    got = segments(text)
    assert (got.encoding, got.segments, got.units, got.ucs2_chars) == (encoding, parts, units, ucs2_chars)
    assert reference(text) == (encoding, parts, units)  # the oracle agrees with the table


def test_segments_is_frozen_and_rejects_non_text():
    s = segments("hi")
    with pytest.raises(AttributeError):
        s.segments = 3  # type: ignore[misc]
    for bad in (None, 3, b"bytes"):
        with pytest.raises(TypeError, match="needs a str"):
            segments(bad)  # type: ignore[arg-type]


# --- properties against the reference -------------------------------------------------------------


@PACKING
@given(texts)
def test_segments_matches_reference_packing(text):
    assert as_tuple(text) == reference(text)


@given(texts)
def test_reference_parts_are_valid(text):
    """Keeps the oracle honest: its parts rebuild the text and none is over capacity."""
    encoding, parts = reference_parts(text)
    assert "".join(parts) == text
    if len(parts) > 1:
        limit = 153 if encoding == "GSM-7" else 67
        if encoding == "GSM-7":
            assert all(sum(REF_SEPTETS[c] for c in p) <= limit for p in parts)
        else:
            assert all(len(p.encode("utf-16-le")) // 2 <= limit for p in parts)


@given(texts)
def test_ucs2_chars_are_exactly_the_forcing_clusters(text):
    s = segments(text)
    assert (s.encoding == "UCS-2") == bool(s.ucs2_chars)
    assert len(set(s.ucs2_chars)) == len(s.ucs2_chars)
    for cluster in s.ucs2_chars:
        assert cluster in text and any(ch not in REF_SEPTETS for ch in cluster)
    assert all(ch in REF_SEPTETS or any(ch in c for c in s.ucs2_chars) for ch in text)


# --- many texts at once ------------------------------------------------------------------------


def assert_rows_equal(frame: pd.DataFrame, texts: list[str]) -> None:
    expected = [as_tuple(t) for t in texts]
    got = list(zip(frame["encoding"].astype(str), frame["segments"].tolist(), frame["units"].tolist()))
    assert got == expected


@given(st.lists(texts, max_size=40), st.randoms(use_true_random=False))
def test_segment_counts_equals_segments_row_by_row(rows, rnd):
    rows = rows + [rnd.choice(rows) for _ in range(len(rows))] if rows else rows  # duplicates, as in campaigns
    frame = segment_counts(rows)
    assert list(frame.columns) == ["encoding", "segments", "units"]
    assert_rows_equal(frame, rows)


def test_segment_counts_on_a_realistic_mix_keeps_index_and_dtypes():
    rnd = random.Random(7)
    names = ["Ann", "Zoë", "José", "Siobhán", "Łukasz", "Ольга", "李"]
    templates = [
        "Hi {n}, your code is {c}.",
        "{n}, don’t miss out – {c}!",
        "🎉 {n} 👍🏽 {c} 🇫🇷",
        "Dear {n}, " + "your statement {c} is ready [see app] " * 5,
        "Olá {n}! " + "A sua encomenda {c} foi expedida. " * 3 + "😊",
        "",
    ]
    rows = [rnd.choice(templates).format(n=rnd.choice(names), c=rnd.randint(100, 999)) for _ in range(3000)]
    rows += ["a" * n + "€" + "a" * 152 for n in range(140, 170)]  # escape pairs on every boundary
    # clusters (astral or not) on every UCS-2 boundary
    clusters = ["👨\u200d👩\u200d👧", "e\u0301", "\u1100\u1161", "क्षि", "🇫🇷", "👍🏽", "\r\n"]
    utf16 = lambda c: len(c.encode("utf-16-le")) // 2  # noqa: E731
    rows += [
        "á" * n + c + "á" * (total - n - utf16(c))
        for c in clusters
        for total in (100, 128, 130, 131, 132, 133, 134, 190, 195, 201)
        for n in range(55, 70)
    ]
    rows += ["\ud83d" * 80, "x\udc00y", "\ud83d\ude00" * 40]  # lone surrogates are one unit each
    index = pd.Index([f"r{i}" for i in range(len(rows))], name="recipient")
    # object: with pyarrow installed pandas would infer "str", which cannot hold lone surrogates
    frame = segment_counts(pd.Series(rows, index=index, dtype=object))
    assert frame.index.equals(index)
    assert isinstance(frame["encoding"].dtype, pd.CategoricalDtype)
    assert frame["segments"].dtype == np.int64 and frame["units"].dtype == np.int64
    assert_rows_equal(frame, rows)


class SameHash(str):
    """A str whose hash collides with every other SameHash."""

    def __hash__(self) -> int:
        return 7


def test_segment_counts_takes_str_subclasses_and_survives_hash_collisions():
    # the last three need the exact route, which counts each distinct text once
    pushed = "á" * 66 + "e\u0301" + "á" * 66
    rows = [SameHash("a" * 161), SameHash("á" * 71), "plain", SameHash(pushed), SameHash("á" * 65 + "👍🏽" + "á" * 64), pushed]
    frame = segment_counts(rows)
    assert_rows_equal(frame, rows)
    assert frame["segments"].tolist() == [2, 2, 1, 3, 3, 3]


def test_segment_counts_handles_very_long_texts():
    rows = ["a€" * 40_000, "😀👍🏽" * 20_000, "b" * 70_000, "short"]
    assert_rows_equal(segment_counts(rows), rows)


def test_segment_counts_empty_input():
    frame = segment_counts([])
    assert frame.empty and list(frame.columns) == ["encoding", "segments", "units"]


@pytest.mark.parametrize("bad", [None, float("nan"), 42])
def test_segment_counts_names_rows_that_are_not_text(bad):
    series = pd.Series(["ok", bad, "fine", bad], index=["a", "b", "c", "d"], dtype=object)
    with pytest.raises(TypeError, match=r"rows \['b', 'd'\]"):
        segment_counts(series)


def test_segment_counts_refuses_a_single_string():
    with pytest.raises(TypeError, match="use segments"):
        segment_counts("just one text")  # type: ignore[arg-type]


# --- segment_counts' array kernels against segments() ----------------------------------------
# segment_counts settles most texts arithmetically, packs those where an escape or surrogate
# pair may straddle a boundary with arrays (the "walk"), and hands those where a grapheme
# cluster may to segments().  These tests push texts down every route and compare.

STRESS_PIECES = [
    "a", "é", "Δ", "€", "^", "{", "|", "\f", "\r\n", "\r", "\n",  # GSM-7: basic, extension
    "á", "ç", "“", "\t", "`", "Ж", "日",  # BMP outside GSM
    "😀", "𝄞", "👍🏽", "🇫🇷", "🇬🇧🇫🇷", "👨\u200d👩\u200d👧", "❤\ufe0f",  # astral, clusters
    "e\u0301", "\u0301", "n\u0303\u0308", "\u1100\u1161\u11a8", "क्षि",  # combining, jamo, conjunct
]
# Unit totals where part counts change: 70/67 (UCS-2) and 160/153 (GSM-7) and their multiples.
BOUNDARIES = [67, 70, 134, 153, 160, 201, 268, 306, 459]
stress_piece = st.sampled_from(STRESS_PIECES)


@st.composite
def near_boundary(draw: st.DrawFn) -> str:
    """A filler run of about a boundary's length with a few stress pieces dropped in."""
    filler = draw(st.sampled_from(["a", "á", "€", "😀", "é", "a€", "á😀"]))
    target = draw(st.sampled_from(BOUNDARIES)) + draw(st.integers(-4, 2))
    chars = list(filler * (target // len(filler) + 1))[: max(target, 0)]
    for _ in range(draw(st.integers(0, 4))):
        chars.insert(draw(st.integers(0, len(chars))), draw(stress_piece))
    return "".join(chars)


stress_texts = st.one_of(near_boundary(), texts, st.lists(stress_piece, max_size=200).map("".join))


def counts_as_tuples(frame: pd.DataFrame) -> list[tuple[str, int, int]]:
    return list(zip(frame["encoding"].astype(str), frame["segments"].tolist(), frame["units"].tolist()))


def route_of(texts: list[str]) -> list[int]:
    """Which way segment_counts counts each text (settled, walk, segments())."""
    array, _ = counts_module._to_arrow(np.array(texts, dtype=object))
    lengths = np.array([len(t) for t in texts], dtype=np.int64)
    return counts_module._arithmetic_counts(lengths, counts_module._flag_counts(array))[3].tolist()


@KERNELS
@given(st.lists(stress_texts, min_size=1, max_size=30))
def test_array_kernels_equal_segments_row_by_row(rows):
    assert counts_as_tuples(segment_counts(rows)) == [as_tuple(t) for t in rows]


@pytest.mark.parametrize("filler, pair", [("a", "€"), ("a", "|"), ("á", "😀"), ("😀", "á"), ("€", "a")])
def test_walk_equals_segments_with_pairs_on_every_offset(filler, pair):
    # one, two or three pairs swept over every offset of 1-3 part texts
    rows = [
        filler * n + pair + filler * gap + pair * repeat + filler * tail
        for n in range(0, 320, 1)
        for gap, repeat, tail in ((0, 0, 150), (1, 1, 140), (66, 1, 80), (152, 2, 10))
    ]
    assert counts_as_tuples(segment_counts(rows)) == [as_tuple(t) for t in rows]
    assert counts_module._WALK in route_of(rows)  # the walk did the packing, not segments()


def test_segment_counts_routes():
    settled, walk, exact = counts_module._SETTLED, counts_module._WALK, counts_module._SEGMENTS
    cases = {
        "a" * 200: settled,  # no wide item: ceil(200 / 153)
        "€" + "a" * 200: settled,  # one escape pair cannot cost a part here
        "a" * 152 + "€" + "a" * 152: walk,  # escape pair on the boundary
        "á" * 66 + "😀" + "á" * 66: walk,  # surrogate pair on the boundary
        "á" * 65 + "😀" + "á" * 67: walk,  # ... or close enough to need a look
        "á" * 66 + "e\u0301" + "á" * 66: exact,  # a cluster: segments()
        "á" * 66 + "\r\n" + "á" * 66: settled,  # CR LF is two characters, as in segments()
        "😀" * 35: settled,  # one part
    }
    assert route_of(list(cases)) == list(cases.values())
    assert counts_as_tuples(segment_counts(list(cases))) == [as_tuple(t) for t in cases]


def test_segment_counts_on_the_known_cases():
    rows = [p.values[0] for p in KNOWN]
    assert counts_as_tuples(segment_counts(rows)) == [p.values[1:4] for p in KNOWN]


def test_segment_counts_across_chunks(monkeypatch):
    # tiny chunks: texts and chunk edges fall everywhere in the UTF-8 buffer
    monkeypatch.setattr(counts_module, "_CHUNK_BYTES", 97)
    rnd = random.Random(3)
    rows = ["".join(rnd.choice(STRESS_PIECES) for _ in range(rnd.randint(0, 180))) for _ in range(300)]
    rows += ["a" * 152 + "€" + "a" * 152, "", "á" * 66 + "😀" + "á" * 66] * 3
    assert counts_as_tuples(segment_counts(rows)) == [as_tuple(t) for t in rows]


@pytest.mark.parametrize("repeats", [0.0, 2.0], ids=["grouped first", "not grouped"])
def test_segment_counts_groups_python_texts_or_not_alike(monkeypatch, repeats):
    # Python str are grouped first when a sample says they repeat often: both ways are exact
    monkeypatch.setattr(counts_module, "_SAMPLE_REPEATS", repeats)
    rnd = random.Random(5)
    rows = ["".join(rnd.choice(STRESS_PIECES) for _ in range(rnd.randint(0, 180))) for _ in range(200)]
    rows += [rnd.choice(rows) for _ in range(200)] + ["x\udc00y", "a" * 152 + "€" + "a" * 152] * 2
    index = pd.RangeIndex(10, 10 + len(rows))
    frame = segment_counts(pd.Series(rows, index=index, dtype=object))
    assert frame.index.equals(index)
    assert counts_as_tuples(frame) == [as_tuple(t) for t in rows]


ROWS = ["Hi Ann", "", "Zoë 👍🏽 " * 12, "a" * 152 + "€" + "a" * 152, "á" * 66 + "😀" + "á" * 66, "Hi Ann"]
TEXT_DTYPES = [
    pytest.param(object, id="object"),
    pytest.param(pd.StringDtype("python"), id="string[python]"),
    pytest.param(pd.StringDtype("pyarrow"), id="string[pyarrow]"),
    pytest.param(pd.StringDtype("pyarrow", na_value=np.nan), id="str[pyarrow]"),
    pytest.param(pd.StringDtype("python", na_value=np.nan), id="str[python]"),
    pytest.param(pd.ArrowDtype(pa.string()), id="arrow string"),
    pytest.param(pd.ArrowDtype(pa.large_string()), id="arrow large_string"),
    pytest.param("category", id="category"),
]


@pytest.mark.parametrize("dtype", TEXT_DTYPES)
def test_segment_counts_takes_every_text_dtype(dtype):
    index = pd.Index(list("uvwxyz"), name="recipient")
    frame = segment_counts(pd.Series(ROWS, index=index, dtype=dtype))
    assert frame.index.equals(index) and list(frame.columns) == ["encoding", "segments", "units"]
    assert frame["encoding"].dtype == pd.CategoricalDtype(["GSM-7", "UCS-2"])
    assert frame["segments"].dtype == np.int64 and frame["units"].dtype == np.int64
    assert counts_as_tuples(frame) == [as_tuple(t) for t in ROWS]


def test_segment_counts_on_arrow_slices_and_chunks():
    whole = pd.Series(ROWS * 3, dtype="str")
    sliced = whole.iloc[4:13]  # an Arrow array with an offset
    assert counts_as_tuples(segment_counts(sliced)) == [as_tuple(t) for t in sliced]
    chunked = pd.concat([whole.iloc[:5], whole.iloc[7:]])  # two chunks
    assert counts_as_tuples(segment_counts(chunked)) == [as_tuple(t) for t in chunked]
    assert segment_counts(pd.Series(["", ""], dtype="str"))["segments"].tolist() == [1, 1]  # no data buffer


@pytest.mark.parametrize("dtype", [d for d in TEXT_DTYPES if d.values[0] != "category"])
def test_segment_counts_names_missing_values_in_every_dtype(dtype):
    series = pd.Series(["ok", None, "fine", None], index=["a", "b", "c", "d"], dtype=dtype)
    with pytest.raises(TypeError, match=r"every text must be a str; rows \['b', 'd'\] are not"):
        segment_counts(series)


def test_segment_counts_rejects_bytes():
    with pytest.raises(TypeError, match=r"rows \[1\]"):
        segment_counts(["ok", b"bytes"])


# --- smart encoding ----------------------------------------------------------------------------


def test_smart_encoding_table_only_maps_non_gsm_to_gsm():
    for char, replacement in SMART_ENCODING.items():
        assert char not in REF_SEPTETS, f"{char!r} is GSM already"
        assert all(c in REF_SEPTETS for c in replacement), f"{char!r} -> {replacement!r} is not GSM"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("“Hi” ‘there’ „x‟ «y»", "\"Hi\" 'there' \"x\" \"y\""),
        ("a – b — c ‐ d − e", "a - b - c - d - e"),
        ("wait…", "wait..."),
        ("a\u00a0b\u2009c\u3000d\te", "a b c d e"),
        ("zero\u200bwidth\ufeff\u2060joiner", "zerowidthjoiner"),
        ("Olá Zoltán Ångström ő ű", "Ola Zoltan Ångström ö ü"),
        ("é à ñ ü Ç ø å Ä É", "é à ñ ü Ç ø å Ä É"),  # GSM's own letters stay
        ("ç È ã Ł œ", "c E a L oe"),
        ("cafe\u0301 man\u0303ana", "café mañana"),  # combining accents fold into GSM letters
        ("x\u0301", "x"),  # a stray accent with no GSM letter is dropped
        ("ＡＢＣ１２３！", "ABC123!"),
    ],
)
def test_smart_encode_known(text, expected):
    assert smart_encode(text) == expected
    assert segments(expected).encoding == "GSM-7"


def test_smart_encode_leaves_emoji_and_scripts_whole():
    text = "Hi “Zoë” 👨\u200d👩\u200d👧 ❤\ufe0f 👍🏽 🇫🇷 Привет"
    assert smart_encode(text) == 'Hi "Zoe" 👨\u200d👩\u200d👧 ❤\ufe0f 👍🏽 🇫🇷 Привет'


@given(texts)
def test_smart_encode_properties(text):
    out = smart_encode(text)
    if segments(text).encoding == "GSM-7":
        assert out == text  # nothing to do, nothing done
    assert smart_encode(out) == out  # idempotent
    # replacements are GSM-7: any character still outside GSM was in the input
    assert {ch for ch in out if ch not in REF_SEPTETS} <= set(text)


# --- the advisor -------------------------------------------------------------------------------


def test_advise_names_characters_positions_and_replacements():
    text = "Olá! “VIP” ç 😀 á"
    advice = advise(text)
    assert advice.text == text
    as_dict = {f.char: (f.positions, f.replacement) for f in advice.forcing}
    assert as_dict == {
        "á": ([2, 15], "a"),
        "“": ([5], '"'),
        "”": ([9], '"'),
        "ç": ([11], "c"),
        "😀": ([13], None),
    }
    assert [f.char for f in advice.forcing] == segments(text).ucs2_chars
    table = advice.to_frame()
    assert list(table.columns) == ["char", "code_points", "positions", "count", "replacement"]
    assert table.set_index("char").loc["😀", "replacement"] is None
    assert table.set_index("char").loc["á", "count"] == 2
    assert table.set_index("char").loc["😀", "code_points"] == "U+1F600"


@given(texts)
def test_advise_positions_point_at_the_forcing_characters(text):
    advice = advise(text)
    covered: set[int] = set()
    for f in advice.forcing:
        for p in f.positions:
            assert text[p : p + len(f.char)] == f.char
            covered.update(range(p, p + len(f.char)))
    assert all(i in covered for i, ch in enumerate(text) if ch not in REF_SEPTETS)
    assert advice.suggested_text == smart_encode(text)
    assert advice.segments_saved == segments(text).segments - segments(advice.suggested_text).segments
    if all(f.replacement is not None for f in advice.forcing):
        assert segments(advice.suggested_text).encoding == "GSM-7"


def test_advise_money_saved_is_exact():
    text = "Don’t miss our sale – " + "x" * 60  # 83 units in UCS-2: 2 parts; GSM-7: 1 part
    assert (segments(text).segments, segments(smart_encode(text)).segments) == (2, 1)
    for rate in (Decimal("0.035"), 0.035, "0.035"):
        advice = advise(text, rate=rate, recipients=1000)
        assert advice.segments_saved == 1 and advice.parts_saved == 1000
        assert advice.money_saved == Decimal("35.000")
        assert isinstance(advice.money_saved, Decimal)
    assert advise(text).money_saved is None


def test_advise_with_a_quote_sums_per_number_rates():
    text = "Olá " + "á" * 70  # 74 units: 2 parts, GSM-7 after smart encoding: 1 part
    numbers = pd.DataFrame(
        {"number": ["447700900001", "447700900002", "33612345678"], "rate": [Decimal("0.04"), 0.05, "0.0325"]}
    )
    advice = advise(text, quote=SimpleNamespace(numbers=numbers))
    assert advice.segments_saved == 1 and advice.recipients == 3
    assert advice.money_saved == Decimal("0.1225")


def test_advise_rejects_bad_money_inputs():
    quote = SimpleNamespace(numbers=pd.DataFrame({"number": ["1", "2"], "rate": [0.04, float("nan")]}, index=[10, 11]))
    with pytest.raises(ValueError, match="row 11"):
        advise("á", quote=quote)
    with pytest.raises(TypeError, match="rate"):
        advise("á", quote=SimpleNamespace(numbers=pd.DataFrame({"number": ["1"]})))
    with pytest.raises(ValueError, match="not both"):
        advise("á", rate=0.1, quote=quote)
    with pytest.raises(ValueError, match=">= 0"):
        advise("á", rate=-0.1)
    with pytest.raises(ValueError, match="recipients"):
        advise("á", rate=0.1, recipients=-1)


def test_advise_on_gsm_text_and_summaries():
    plain = advise("Hello there")
    assert plain.forcing == [] and plain.segments_saved == 0
    assert "Already GSM-7" in str(plain)

    advice = advise("“Hi” ＜b＞ 😀 " + "x" * 70, rate="0.05", recipients=10)
    summary = str(advice)
    assert "force UCS-2" in summary and "'“'" in summary and "U+201C" in summary
    assert "no GSM-7 replacement" in summary and "still UCS-2 because of '😀'" in summary
    html = advice._repr_html_()
    assert "'&lt;'" in html and "'<'" not in html and "<b>＜" not in html  # replacements are escaped
    assert isinstance(advice, Advice)


def test_docstring_examples_hold():
    result = doctest.testmod(segments_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("texts, named", [({"a": "Hi"}, "dict"), (pd.DataFrame({"text": ["Hi"]}), "DataFrame"),
                                          (5, "int")])
def test_segment_counts_refuses_what_is_not_a_column_of_texts(texts, named):
    # a dict or a DataFrame iterates over its keys / column names: never read as the texts
    with pytest.raises(TypeError, match=rf"^segment_counts\(\) needs many texts \(a Series or a list\), got {named}"):
        segment_counts(texts)
