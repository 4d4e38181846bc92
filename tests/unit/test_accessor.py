"""The pandas .sms accessor: hand-written expectations, and the same answers as the functions."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.audience.read import AudienceError
from smsgic_analytics.numbers.normalize import FLOAT_VALUE, normalize_numbers
from smsgic_analytics.text.templates import TemplateError, fill_template

D = Decimal
# Latvia's Tele2 (247/02) numbers +371 2000 000x: 0.04 a part.
RATES = pd.DataFrame([("247", None, "Latvia", "0.04"), ("247", "02", "Latvia", "0.04")],
                     columns=["mcc", "mnc", "country", "rate"]).assign(currency="EUR")
CURLY = "\u2019"  # RIGHT SINGLE QUOTATION MARK: forces UCS-2


def audience() -> pd.DataFrame:
    return pd.DataFrame({"phone": ["+371 2000 0001", "+371 2000 0003", "+371 2000 0005", "+371 2000 0007"],
                         "first_name": ["Ann", "a" * 157, "b" * 158, CURLY + "c" * 70]},
                        index=["w", "x", "y", "z"])


def test_series_normalise_gives_digits_or_na_with_reasons():
    s = pd.Series(["+44 7700 900123", "07700 900124", "123", 37120000001.0], dtype=object)
    out = s.sms.normalise(default_region="GB")
    assert out.tolist()[:2] == ["447700900123", "447700900124"] and out.isna().tolist() == [False, False, True, True]
    assert out.dtype == "string" and out.name == "number"
    why = s.sms.normalise(reasons=True)
    assert why["reason"][3] == FLOAT_VALUE and "too short" in why["reason"][2] and pd.isna(why["reason"][0])
    assert out.tolist() == [d if d is not None else pd.NA for d in normalize_numbers(s, "GB")[0]]


def test_segments_per_row_of_the_filled_template():
    df = audience()
    got = df.sms.segments("Hi {first_name}")  # "Hi " + 157 = 160 GSM: 1 part; 161: 2; curly: UCS-2 74 units: 2
    assert got["segments"].tolist() == [1, 1, 2, 2]
    assert got["encoding"].astype(str).tolist() == ["GSM-7", "GSM-7", "GSM-7", "UCS-2"]
    assert list(got.index) == ["w", "x", "y", "z"]
    assert got.equals(sa.segment_counts(fill_template("Hi {first_name}", df)))
    assert df.sms.segments(CURLY + "{first_name}").loc["w", "units"] == 4  # UCS-2: 70/67 rules, 4 units
    assert pd.Series(["d" * 70, CURLY + "d" * 69, CURLY + "d" * 70]).sms.segments()["segments"].tolist() == [1, 1, 2]


def test_estimate_is_the_offline_estimate_with_the_rows_as_data():
    df = audience()
    est = df.sms.estimate("Hi {first_name}", rates=RATES)
    assert est.totals.expected == D("0.04") * (1 + 1 + 2 + 2)
    same = sa.estimate(df["phone"], "Hi {first_name}", rates=RATES, data=df)
    assert est.totals == same.totals and est.rows.equals(same.rows)
    assert df.sms.estimate("Sale", rates=RATES).totals.expected == D("0.16")  # one text, 1 part x 4


def test_classify_and_audit_equal_the_functions():
    df = audience()
    assert df.sms.classify().equals(sa.classify(df["phone"]))
    assert df["phone"].sms.classify().equals(sa.classify(df["phone"]))
    dup = pd.DataFrame({"mobile": ["+371 2000 0001", "371 2000 0001"]})
    assert dup.sms.audit().equals(sa.audit(dup)) and dup.sms.audit()["rule"].tolist() == ["duplicate"]
    assert dup["mobile"].sms.audit()["rule"].tolist() == ["duplicate"]
    compared = df.sms.compare_copies(["Hi", "Hello"], rates=RATES)
    assert compared.equals(sa.compare_copies(df, ["Hi", "Hello"], rates=RATES))


def test_phone_names_the_column():
    df = pd.DataFrame({"a": ["+371 2000 0001"], "b": ["x"]})
    assert df.sms.classify(phone="a")["number"].tolist() == ["37120000001"]


def test_clear_errors_name_the_column_and_the_rule():
    with pytest.raises(AudienceError, match=r"no column looks like phone numbers; pass phone= one of 'first_name'"):
        pd.DataFrame({"first_name": ["Ann"]}).sms.classify()
    with pytest.raises(AudienceError, match=r"no column 'phon'; its columns are 'phone', 'first_name'"):
        audience().sms.estimate("Hi", rates=RATES, phone="phon")
    with pytest.raises(TemplateError, match=r"\{last_name\} have no column"):
        audience().sms.segments("Hi {last_name}")
    with pytest.raises(TemplateError, match=r"\{first_name\}: column 'first_name' is missing a value in data rows \['x'\]"):
        audience().assign(first_name=["Ann", None, "Bo", "Cy"]).sms.estimate("Hi {first_name}", rates=RATES)
    floats = pd.DataFrame({"phone": [37120000001.0, 37120000003.0]})
    unplaced = floats.sms.estimate("Hi", rates=RATES).unplaced
    assert unplaced["reason"].tolist() == [FLOAT_VALUE, FLOAT_VALUE] and unplaced["index"].tolist() == [0, 1]
