"""sa.compare_copies: hand-computed parts and costs (0.04 a part, Decimal) on a hand-made audience."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

import smsgic_analytics as sa

D = Decimal
CURLY = "\u2019"
RATES = pd.DataFrame([("247", None, "Latvia", "0.04"), ("247", "02", "Latvia", "0.04")],
                     columns=["mcc", "mnc", "country", "rate"]).assign(currency="EUR")
AUDIENCE = pd.DataFrame({"phone": ["+371 2000 0001", "+371 2000 0003", "+371 2000 0005"],
                         "first_name": ["Ann", "Zoë", "\u0141ukasz"]})  # ë and Ł are not GSM-7
CURLY_71 = CURLY + "a" * 70  # UCS-2, 71 units: 2 parts; rewritten with ' it is 71 GSM septets: 1 part
GSM_161 = "a" * 161  # GSM-7: 2 parts
TEMPLATE = "Hi {first_name}"  # 1 part each; Zoë's and Łukasz's texts are UCS-2


def test_one_row_per_variant_with_hand_computed_parts_and_costs():
    out = sa.compare_copies(AUDIENCE, [CURLY_71, GSM_161, TEMPLATE], rates=RATES)
    assert out["variant"].tolist() == [CURLY_71, GSM_161, TEMPLATE]
    assert out["encoding"].tolist() == ["UCS-2", "GSM-7", "mixed"]
    assert out[["segments_min", "segments_max"]].values.tolist() == [[2, 2], [2, 2], [1, 1]]
    assert out["segments_mean"].tolist() == [2.0, 2.0, 1.0]
    assert out["sms"].tolist() == [6, 6, 3] and out["recipients"].tolist() == [3, 3, 3]
    assert out["cost"].tolist() == [D("0.24"), D("0.24"), D("0.12")]
    assert out["cheapest"].tolist() == [False, False, True]


def test_the_ucs2_culprits_are_named_with_code_points_and_the_rewrite_saving_is_on_this_audience():
    out = sa.compare_copies(AUDIENCE, [CURLY_71, GSM_161, TEMPLATE], rates=RATES).set_index("variant")
    assert out.loc[CURLY_71, "ucs2_chars"] == f"{CURLY!r} U+2019"
    assert out.loc[CURLY_71, "rewrite"] == "'" + "a" * 70
    assert (out.loc[CURLY_71, "rewrite_sms"], out.loc[CURLY_71, "rewrite_cost"]) == (3, D("0.12"))
    assert out.loc[CURLY_71, "rewrite_saves"] == D("0.12")  # 3 recipients x 1 part x 0.04
    assert out.loc[GSM_161, "ucs2_chars"] == "" and out.loc[GSM_161, "rewrite"] is None
    assert out.loc[GSM_161, "rewrite_saves"] == D("0")
    assert out.loc[TEMPLATE, "ucs2_chars"] == "'\u00eb' U+00EB, '\u0141' U+0141"  # brought by merge fields


def test_replacing_the_named_culprit_brings_the_variant_back_to_gsm7():
    text = "It" + CURLY + "s on \u2014 20% off"
    out = sa.compare_copies(AUDIENCE, [text], rates=RATES)
    assert out["ucs2_chars"][0] == f"{CURLY!r} U+2019, '\u2014' U+2014"
    fixed = text.replace(CURLY, "'").replace("\u2014", "-")
    assert sa.segments(fixed).encoding == "GSM-7" and out["rewrite"][0] == fixed


def test_totals_equal_the_offline_estimate():
    out = sa.compare_copies(AUDIENCE, [TEMPLATE], rates=RATES)
    est = sa.estimate(AUDIENCE["phone"], TEMPLATE, rates=RATES, data=AUDIENCE)
    assert out["cost"][0] == est.totals.expected and out["sms"][0] == est.sms_count


def test_a_list_of_numbers_takes_plain_texts_and_refuses_templates():
    out = sa.compare_copies(list(AUDIENCE["phone"]), ["Sale"], rates=RATES)
    assert out["cost"][0] == D("0.12")
    with pytest.raises(TypeError, match="list of variants"):
        sa.compare_copies(AUDIENCE, "Sale", rates=RATES)
    with pytest.raises(Exception, match=r"\{surname\}"):
        sa.compare_copies(AUDIENCE, ["Hi {surname}"], rates=RATES)


def test_the_card():
    html = sa.compare_copies(AUDIENCE, [CURLY_71, TEMPLATE], rates=RATES)._repr_html_()
    assert "Copy comparison" in html and "(cheapest)" in html and "0.1200" in html


def test_a_messy_audience_costs_what_the_estimate_says_for_every_variant():
    # duplicates (first row's name wins), an invalid row, a number the table cannot place, names repeated
    people = pd.DataFrame({"phone": ["+371 2000 0001", "371-2000-0001", "n/a", "+7 912 345 6789", "+371 2000 0003",
                                     "+371 2000 0005", "+371 2000 0007"],
                           "first_name": ["Ann", "x" * 200, "Bo", "Cy", "Zo\u00eb", "Ann", "b" * 158]},
                          index=[10, 11, 12, 13, 14, 15, 16])
    variants = [TEMPLATE, "Sale today", "It\u2019s {first_name}\u2026", GSM_161]
    out = sa.compare_copies(people, variants, rates=RATES).set_index("variant")
    for variant in variants:
        data = people if "{" in variant else None
        est = sa.estimate(people["phone"], variant, rates=RATES, data=data)
        assert (out.loc[variant, "cost"], out.loc[variant, "sms"]) == (est.totals.expected, est.sms_count), variant
        assert out.loc[variant, "recipients"] == len(est.placed) == 4
    assert out.loc[TEMPLATE, "segments_max"] == 2  # "Hi " + 158 b's: 161 septets, 2 parts (x * 200 is a duplicate)


def test_a_missing_merge_value_names_every_row_at_fault():
    people = AUDIENCE.assign(first_name=[None, "Bo", None])
    with pytest.raises(Exception, match=r"rows \[0, 2\]"):
        sa.compare_copies(people, [TEMPLATE], rates=RATES)


def test_one_number_as_a_str_is_one_recipient_and_a_mapping_is_refused():
    one = sa.compare_copies("+371 2000 0001", ["Hi"], rates=RATES).iloc[0]
    assert (one["recipients"], one["sms"], one["cost"]) == (1, 1, Decimal("0.04"))  # not 14 one-character rows
    with pytest.raises(TypeError, match="numbers is a mapping"):
        sa.compare_copies({"C1": "+371 2000 0001"}, ["Hi"], rates=RATES)
