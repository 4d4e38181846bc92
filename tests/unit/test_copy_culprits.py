"""Every UCS-2 culprit the copy lab names, once replaced, brings the variant back to GSM-7 (smsutil
decides, an independent implementation), and the lab marks where each SMS part begins."""
from __future__ import annotations

import html
import re

import pandas as pd
import smsutil
from hypothesis import given
from hypothesis import strategies as st

import smsgic_analytics as sa
from smsgic_analytics.text.breaks import marked_html, part_starts

RATES = pd.DataFrame([("247", None, "Latvia", "0.04")], columns=["mcc", "mnc", "country", "rate"]).assign(currency="EUR")
AUDIENCE = pd.DataFrame({"phone": ["+371 2000 0001", "+371 2000 0003"], "first_name": ["Ann", "Bo"]})
# Typical culprits (typed by hand) among plain text, and any other character at all
CULPRITS = ["\u2019", "\u201c", "\u2013", "\u2026", "\u00a0", "\u00e1", "\u00eb", "\u0141", "\U0001F600",
            "\U0001F44D\U0001F3FD", "\u0416", "e\u0301", "\t", "`", "\u00e7", "\u200b"]
PLAIN = list("abc XYZ 019.,!?'\"-\n") + ["\u20ac", "[", "~", "\u00e9", "\u00fc", "\u00c7"]  # GSM-7, some 2 septets (no braces: a variant is a template)
piece = st.one_of(st.sampled_from(PLAIN), st.sampled_from(PLAIN), st.sampled_from(CULPRITS),
                  st.characters(codec="utf-8", exclude_characters="\x1b{}"))  # ESC: smsutil calls it GSM
# a text PHP's trim() empties is the API's "message not sent": refused, not priced (tested elsewhere)
variants = st.lists(piece, min_size=1, max_size=200).map("".join).filter(lambda t: t.strip(" \t\n\r\0\x0b") != "")
MARK = re.compile(r"<mark class='smsgic-culprit' title='((?:U\+[0-9A-F]{4,6} ?)+) forces UCS-2'")
# each culprit is shown as Python's repr: in double quotes when it holds an apostrophe ('\U0001F3FB)
NAMED = re.compile(r"""(?:'[^']*'|"[^"]*") ((?:U\+[0-9A-F]{4,6} ?)+)""")


def from_points(points: str) -> str:
    return "".join(chr(int(p[2:], 16)) for p in points.split())


def is_gsm7(text: str) -> bool:
    return smsutil.split(text).encoding == "gsm0338"


@given(variants)
def test_replacing_every_named_culprit_gives_gsm7(variant: str) -> None:
    row = sa.compare_copies(AUDIENCE, [variant], rates=RATES).iloc[0]
    named = {from_points(p.strip()) for p in NAMED.findall(row["ucs2_chars"])}
    marked = {from_points(p.strip()) for p in MARK.findall(marked_html(variant))}
    assert named == marked  # the table and the highlighted text name the same characters
    fixed = variant
    for culprit in sorted(named, key=len, reverse=True):
        fixed = fixed.replace(culprit, "?")
    assert is_gsm7(fixed), (variant, named)
    assert is_gsm7(variant) == (not named) == (row["encoding"] == "GSM-7")
    for culprit in named:
        assert not is_gsm7(culprit)  # each one named really is a culprit


@given(variants)
def test_the_rewrite_is_gsm7_when_every_culprit_has_a_replacement(variant: str) -> None:
    row = sa.compare_copies(AUDIENCE, [variant], rates=RATES).iloc[0]
    if row["rewrite"] is not None and not sa.advise(row["rewrite"]).forcing:
        assert is_gsm7(row["rewrite"])
        assert row["rewrite_saves"] == row["cost"] - row["rewrite_cost"]


def test_culprits_brought_by_merge_fields_are_named_too() -> None:
    people = AUDIENCE.assign(first_name=["Zo\u00eb", "\u0141ukasz"])
    row = sa.compare_copies(people, ["Hi {first_name}"], rates=RATES).iloc[0]
    named = {from_points(p.strip()) for p in NAMED.findall(row["ucs2_chars"])}
    assert named == {"\u00eb", "\u0141"}
    for name in people["first_name"]:
        text = "Hi " + name
        for culprit in named:
            text = text.replace(culprit, "?")
        assert is_gsm7(text)


# -- where the parts break: 153 septets / 67 units a part past one (typed from TS 23.040) ------------

@given(variants)
def test_part_breaks_match_the_part_count(variant: str) -> None:
    starts = part_starts(variant)
    assert len(starts) + 1 == sa.segments(variant).segments
    assert starts == sorted(set(starts)) and all(0 < s < len(variant) for s in starts)
    gsm = is_gsm7(variant)
    bounds = [0, *starts, len(variant)]
    for a, b in zip(bounds, bounds[1:]):
        part = variant[a:b]
        size = (len(part) + sum(c in "^{}\\[~]|\u20ac\f" for c in part)) if gsm else len(part.encode("utf-16-le")) // 2
        assert size <= (153 if gsm else 67) or len(starts) == 0


def test_part_breaks_by_hand() -> None:
    assert part_starts("a" * 160) == [] and part_starts("a" * 161) == [153]
    assert part_starts("a" * 152 + "\u20ac" + "b" * 10) == [152]  # the escape pair moves whole
    assert part_starts("\u2019" + "a" * 70) == [67]
    assert part_starts("x" * 66 + "\U0001F600" + "y" * 10) == [66]  # the surrogate pair moves whole
    shown = marked_html("a" * 161)
    assert shown.count("smsgic-part-break") == 1 and "part 2 starts here" in shown
    assert html.escape("<b>") in marked_html("<b>")
