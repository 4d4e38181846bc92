"""sa.audit: every rule has a case that fires it and one that does not; costs are hand-computed
(rate x parts, Decimal) from the hand-written rates table below."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.audience.read import AudienceError
from smsgic_analytics.numbers.normalize import FLOAT_VALUE, NATIONAL
from smsgic_analytics.text.templates import TemplateError

D = Decimal
# Latvia (Tele2 247/02 numbers such as +371 2000 000x): 0.04 a part.  Russia (+7 912...): 0.20 by
# its default row, 5x the Latvian rate.
RATES = pd.DataFrame([("247", None, "Latvia", "0.04"), ("247", "02", "Latvia", "0.04"),
                      ("250", None, "Russian Federation", "0.20")],
                     columns=["mcc", "mnc", "country", "rate"]).assign(currency="EUR")
CHEAP_RU = RATES.assign(rate=["0.04", "0.04", "0.08"])  # Russia only 2x: not "far above"
LV = ["+371 2000 0001", "+371 2000 0003", "+371 2000 0005", "+371 2000 0007"]  # no two consecutive
GSM_161 = "a" * 161  # 2 parts


def rules(found: pd.DataFrame) -> list[str]:
    return found["rule"].tolist()


def test_duplicates_after_normalisation_fire_and_cost_what_sending_them_again_would():
    found = sa.audit(pd.DataFrame({"phone": LV + ["371-2000-0001"]}), rates=RATES, message=GSM_161)
    assert rules(found) == ["duplicate"]
    row = found.iloc[0]
    assert (row["rows"], row["first_row"], row["last_row"], row["example"]) == (1, 4, 4, "371-2000-0001")
    assert row["cost_if_sent"] == D("0.08")  # 0.04 x 2 parts
    assert rules(sa.audit(LV)) == []


def test_numbers_the_api_refuses_are_listed_per_reason():
    found = sa.audit(pd.Series(LV + ["123", "12ab5678", "456"], index=list("abcdefg")))
    assert rules(found) == ["refused", "refused"]
    short, letters = found.iloc[0], found.iloc[1]
    assert (short["rows"], short["first_row"], short["last_row"], short["example"]) == (2, "e", "g", "123")
    assert "too short" in short["reason"] and "'a', 'b'" in letters["reason"]
    assert short["cost_if_sent"] is None  # no rates, no message


def test_national_numbers_without_a_region_fire_and_not_with_one():
    found = sa.audit(["07700 900123", *LV])
    assert rules(found) == ["national"] and found["reason"][0] == NATIONAL and found["first_row"][0] == 0
    assert rules(sa.audit(["07700 900123", *LV], default_region="GB")) == []


def test_numbers_that_came_from_floats_or_integers_fire():
    found = sa.audit(pd.Series(["+371 2000 0001", 37120000009.0, 37120000011], dtype=object))
    assert rules(found) == ["float or integer"]
    assert (found["rows"][0], found["first_row"][0], found["last_row"][0]) == (2, 1, 2)
    float_column = sa.audit(pd.Series([37120000001.0, 37120000005.0]))
    assert rules(float_column) == ["float or integer"] and float_column["rows"][0] == 2
    assert sa.audit(pd.Series([37120000001.0])).pipe(lambda f: f["rows"][0]) == 1
    assert sa.classify(pd.Series([37120000001.0]))["reason"][0] == FLOAT_VALUE  # the rule it refers to
    assert rules(sa.audit(LV)) == []


def test_runs_of_sequential_numbers_fire_in_any_row_order():
    run = ["+371 2000 0014", "+371 2000 0010", "+371 2000 0012", "+371 2000 0011", "+371 2000 0013"]
    found = sa.audit(pd.DataFrame({"phone": ["+371 2000 0003", *run]}), rates=RATES, message="Hi")
    assert rules(found) == ["sequential run"]
    row = found.iloc[0]
    assert (row["rows"], row["first_row"], row["last_row"]) == (5, 1, 5)
    assert "37120000010 to 37120000014" in row["reason"] and row["cost_if_sent"] == D("0.20")  # 5 x 0.04
    assert rules(sa.audit(run[:4])) == []  # four in a row is not a run


def test_high_cost_destinations_fire_when_far_above_the_median_rate():
    audience = pd.DataFrame({"phone": LV + ["+7 912 345 6789"]})
    found = sa.audit(audience, rates=RATES, message=GSM_161)
    assert rules(found) == ["high cost"]
    row = found.iloc[0]
    assert (row["rows"], row["first_row"], row["example"]) == (1, 4, "+7 912 345 6789")
    assert row["cost_if_sent"] == D("0.40")  # 0.20 x 2 parts
    assert "5.0x" in row["reason"] and "56%" in row["reason"]  # 0.40 of 0.72
    assert rules(sa.audit(audience, rates=CHEAP_RU, message=GSM_161)) == []
    assert rules(sa.audit(audience)) == []  # no rates: no cost rule


def test_template_messages_are_priced_per_row():
    audience = pd.DataFrame({"phone": LV + ["+371 2000 0001"], "name": ["A", "B", "C", "D", "x" * 160]})
    found = sa.audit(audience, rates=RATES, message="Hi {name}")
    assert found["cost_if_sent"][0] == D("0.08")  # the duplicate's own text is 2 parts


def test_bad_input_names_the_column_and_the_rule():
    with pytest.raises(AudienceError, match=r"no column looks like phone numbers; pass phone= one of 'name'"):
        sa.audit(pd.DataFrame({"name": ["Ann"]}))
    with pytest.raises(AudienceError, match=r"'phone', 'mobile'"):
        sa.audit(pd.DataFrame({"phone": LV[:1], "mobile": LV[:1]}))
    with pytest.raises(TemplateError, match=r"\{first_name\}"):
        sa.audit(pd.DataFrame({"phone": LV}), rates=RATES, message="Hi {first_name}")


def test_the_card_and_the_plain_repr():
    found = sa.audit(pd.DataFrame({"phone": LV + ["371-2000-0001"]}), rates=RATES, message="Hi")
    html = found._repr_html_()
    assert "Audience audit" in html and "duplicate" in html and "0.0400" in html
    assert "duplicate" in repr(found)
    assert "nothing found" in sa.audit(LV)._repr_html_()


# The account's history, as client.spend() / the ledger's destinations give it (hand-made; countries as the numbering plan names them): 95
# numbers to Latvia at 0.04 and 5 to Russia at 0.20 (5% of its numbers at 3x the usual rate or more).
HISTORY = pd.DataFrame({"country": ["Latvia", "Russia"], "numbers": [95, 5],
                        "price": [D("0.04"), D("0.20")]})
RU = ["+7 912 345 6789", "+7 912 345 6791", "+7 912 345 6793"]


def test_a_high_cost_share_far_above_the_accounts_history_fires_with_its_cost():
    audience = pd.DataFrame({"phone": LV[:2] + RU})  # 3 of 5 rows (60%) to Russia against 5% before
    found = sa.audit(audience, rates=RATES, message=GSM_161, history=HISTORY)
    row = found.set_index("rule").loc["high-cost share"]
    assert (row["rows"], row["first_row"], row["last_row"]) == (3, 2, 4)
    assert row["cost_if_sent"] == D("1.20")  # 3 rows x 2 parts x 0.20
    assert "60%" in row["reason"] and "5%" in row["reason"] and "0.04" in row["reason"]
    assert "Russia (3)" in row["reason"]


def test_a_high_cost_share_close_to_the_history_does_not_fire():
    audience = pd.DataFrame({"phone": LV + [RU[0]]})  # 20% to Russia ...
    used_to = HISTORY.assign(numbers=[85, 15])  # ... against 15% before: not far above
    assert "high-cost share" not in rules(sa.audit(audience, rates=RATES, message="Hi", history=used_to))
    assert "high-cost share" not in rules(sa.audit(audience, rates=RATES, message="Hi"))  # no history: no rule
    spend_like = pd.DataFrame({"country": ["Latvia", "Russia"], "numbers": [2, 1],  # net / sms_count
                               "net": [D("0.08"), D("0.40")], "sms_count": [2, 2]})  # 33% before
    assert "high-cost share" not in rules(sa.audit(audience, rates=RATES, history=spend_like))


def test_countries_never_sent_to_fire_once_each_with_their_cost():
    only_latvia = HISTORY.iloc[:1]
    audience = pd.DataFrame({"phone": [RU[0], *LV[:2], RU[1]]})
    found = sa.audit(audience, rates=CHEAP_RU, message="Hi", history=only_latvia)
    assert rules(found) == ["new country"]
    row = found.iloc[0]
    assert (row["rows"], row["first_row"], row["last_row"]) == (2, 0, 3)
    assert row["reason"].startswith("Russia: this account never sent to it before")
    assert row["cost_if_sent"] == D("0.16")  # 2 x 1 part x 0.08
    no_rates = sa.audit(audience, history=only_latvia)  # countries then come from the numbering plan
    assert rules(no_rates) == ["new country"] and no_rates["cost_if_sent"][0] is None


def test_countries_sent_to_before_do_not_fire_and_an_empty_history_says_nothing():
    audience = pd.DataFrame({"phone": [RU[0], *LV[:2]]})
    assert rules(sa.audit(audience, rates=CHEAP_RU, history=HISTORY.assign(country=["latvia", "Russia"]))) == []
    empty = HISTORY.iloc[:0]
    assert rules(sa.audit(audience, rates=RATES, history=empty)) == ["high cost"]  # only the audience's own rule


def test_history_without_the_columns_it_needs_is_refused_by_name():
    with pytest.raises(ValueError, match=r"history: missing column\(s\) numbers"):
        sa.audit(LV, history=pd.DataFrame({"country": ["Latvia"]}))


def test_a_mapping_audience_is_refused_and_its_series_is_audited_by_its_keys():
    by_customer = {"C1": LV[0], "C2": "not a number"}
    with pytest.raises(TypeError, match=r"numbers is a mapping: pass pd.Series\(d\)"):
        sa.audit(by_customer)
    found = sa.audit(pd.Series(by_customer))
    refused = found[found["rule"] == "refused"].iloc[0]
    assert (refused["rows"], refused["first_row"]) == (1, "C2")
