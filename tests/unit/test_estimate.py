"""Offline estimate, what-if re-pricing and reconciliation, on hand-built rates tables and quotes.

The rates tables here are written by hand, so the basis of every number follows from its
country and MCC/MNC (given by ``classify``) and the rows the table has or lacks.  Quotes are
built by ``Quote.build`` from API-shaped answers, as the client builds them.
"""
from __future__ import annotations

import re
import warnings

from decimal import Decimal

import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.audience.recipients import normalize_recipients
from smsgic_analytics.numbers.classify import classify
from smsgic_analytics.numbers.samples import sample_numbers
from smsgic_analytics.pricing.offline import BASES, OfflineEstimate
from smsgic_analytics.pricing.quote import Quote
from smsgic_analytics.text.counts import segment_counts
from smsgic_analytics.text.segments import segments
from smsgic_analytics.text.templates import TemplateError, fill_template, placeholders

D = Decimal
TWO_PARTS = "Spring sale! " * 13  # 169 GSM-7 characters: 2 parts

# Latvia: default + two of its operators, one dearer (Bite, 247/05, is left out).  United Kingdom: operator
# rows only, no default.  Russia under another name (found through MCC 250).  Kosovo: its
# numbers have no MCC in the numbering data, so it is known by name only.  No Singapore.
RATES = pd.DataFrame(
    [
        ("247", None, "Latvia", 0.04),
        ("247", "01", "Latvia", 0.03),
        ("247", "02", "Latvia", 0.0455),
        ("234", "15", "United Kingdom", 0.04),
        ("234", "02", "United Kingdom", 0.045),
        ("250", None, "Russian Federation", 0.07),
        ("250", "99", "Russian Federation", 0.06),
        ("221", None, "Kosovo", 0.09),
        ("221", "01", "Kosovo", 0.08),
    ],
    columns=["mcc", "mnc", "country", "rate"],
).assign(currency="EUR")
OPERATOR_RATES = {("247", "01"): D("0.03"), ("247", "02"): D("0.0455"), ("234", "15"): D("0.04"),
                  ("234", "02"): D("0.045"), ("250", "99"): D("0.06")}


def audience() -> list[str]:
    numbers = (sample_numbers(40, seed=2, regions=["LV"]) + sample_numbers(40, seed=2, regions=["GB"])
               + sample_numbers(40, seed=2, regions=["RU"]) + sample_numbers(6, seed=2, regions=["XK"])
               + sample_numbers(5, seed=2, regions=["SG"]))
    return numbers + ["+800 1234 5678", "123", numbers[0]]  # non-geographic, too short, a duplicate


def expected_row(region: str, mcc, mnc) -> tuple[str, D | None, D | None, D | None]:
    """(basis, low, expected, high) by the documented rules, for this test's RATES."""
    if (mcc, mnc) in OPERATOR_RATES:
        rate = OPERATOR_RATES[(mcc, mnc)]
        return "operator rate", rate, rate, rate
    return {
        "LV": ("country default", D("0.03"), D("0.04"), D("0.0455")),  # default inside the range
        "GB": ("country range", D("0.04"), D("0.045"), D("0.045")),  # no default: expected = high
        "RU": ("country default", D("0.06"), D("0.07"), D("0.07")),
        "XK": ("country range", D("0.08"), D("0.09"), D("0.09")),  # default row, but no MCC known
    }.get(region, ("unplaced", None, None, None))


@pytest.fixture(scope="module")
def offline() -> OfflineEstimate:
    return sa.estimate(audience(), TWO_PARTS, rates=RATES)


def test_every_number_gets_the_basis_and_range_its_rates_give(offline):
    rows = offline.rows
    assert list(rows.columns) == ["number", "region", "country", "operator", "mcc", "mnc", "sms", "rate_low",
                                  "rate_expected", "rate_high", "low", "expected", "high", "basis"]
    placed = classify(rows["number"])
    seen = set()
    for row, where in zip(rows.itertuples(index=False), placed.itertuples(index=False)):
        mcc = None if pd.isna(where.mcc) else where.mcc
        mnc = None if pd.isna(where.mnc) else where.mnc
        basis, low, expected, high = expected_row(where.region, mcc, mnc)
        assert (row.basis, row.rate_low, row.rate_expected, row.rate_high) == (basis, low, expected, high), row
        seen.add(basis)
    assert seen == set(BASES)  # the audience exercises every basis


def test_costs_are_rate_times_sms_and_the_range_is_ordered(offline):
    placed = offline.placed
    assert (placed["sms"] == segments(TWO_PARTS).segments).all() and segments(TWO_PARTS).segments == 2
    for row in placed.itertuples(index=False):
        assert row.low == row.rate_low * 2 and row.expected == row.rate_expected * 2 and row.high == row.rate_high * 2
        assert row.low <= row.expected <= row.high
        assert all(type(v) is Decimal for v in (row.rate_low, row.low, row.expected, row.high))


def test_totals_are_exact_sums_and_agree_with_the_summaries(offline):
    placed = offline.placed
    for name in ("low", "expected", "high"):
        total = getattr(offline.totals, name)
        assert type(total) is Decimal
        assert total == sum(placed[name], D(0))
        assert sum(offline.by_country()[name], D(0)) == total
        assert sum(offline.by_operator()[name], D(0)) == total
    assert offline.totals.low <= offline.totals.expected <= offline.totals.high
    assert offline.currency == "EUR"
    by_country = offline.by_country()
    assert by_country["numbers"].sum() == len(placed)
    assert (by_country[["operator_rate", "country_default", "country_range"]].sum(axis=1) == by_country["numbers"]).all()


def test_unplaced_numbers_are_listed_with_reasons_and_never_dropped(offline):
    inputs = audience()
    unplaced = offline.unplaced
    # every input row is priced, unplaced or a listed duplicate
    assert len(offline.placed) + len(unplaced) + len(offline.duplicates) == len(inputs)
    reasons = dict(zip(unplaced["value"], unplaced["reason"]))
    assert "too short" in reasons["123"]
    assert "cannot place" in reasons["+800 1234 5678"]
    singapore = unplaced[unplaced["country"] == "Singapore"]
    assert len(singapore) == 5 and singapore["reason"].str.contains("no rates for Singapore").all()
    # the unplaced valid numbers stay in .rows, flagged and without a cost
    flagged = offline.rows[offline.rows["basis"] == "unplaced"]
    assert set(flagged["number"]) == set(unplaced["number"].dropna())
    assert flagged["expected"].isna().all()
    assert offline.duplicates["index"].tolist() == [len(inputs) - 1]
    assert [inputs[i] for i in unplaced["index"]] == unplaced["value"].tolist()  # labels point at the inputs


def test_html_flags_unplaced_and_shows_the_range(offline):
    page = offline._repr_html_()
    assert "Not priced" in page and "Offline estimate" in page
    assert str(offline.totals.expected) in page and str(offline.totals.high) in page


def test_float_rates_become_exact_four_place_decimals():
    latvia = sample_numbers(1000, seed=7, regions=["LV"])
    table = pd.DataFrame({"mcc": ["247"], "mnc": [None], "country": ["Latvia"], "rate": [0.0335]})
    est = sa.estimate(latvia, "Hi", rates=table)
    assert sum([0.0335] * 1000) != 33.5  # the float trap this avoids
    assert est.totals == (D("33.5"), D("33.5"), D("33.5"))
    for rate, quantized in ((0.12345, "0.1234"), (0.12355, "0.1236"), ("0.2", "0.2"), (D("1.00004"), "1.0000")):
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            one = sa.estimate(latvia[:1], "Hi", rates=table.assign(rate=[rate]))
        assert one.rows.loc[0, "rate_expected"] == D(quantized)  # half-even to 4 places
        # a rate finer than 4 places is not rounded silently: the warning names the row and both values
        rounded = [str(w.message) for w in said if "decimal places" in str(w.message)]
        if D(str(rate)) == D(quantized):
            assert rounded == []
        else:
            assert rounded == [f"1 rate(s) have more than 4 decimal places, the API's precision: priced rounded "
                               f"half-even: row 0: {rate} -> {quantized}"]


def test_the_rounding_warning_lists_the_first_rows_and_counts_the_rest():
    table = pd.DataFrame({"mcc": ["247"] * 40, "mnc": [f"{i:02d}" for i in range(40)], "country": ["Latvia"] * 40,
                          "rate": [D(f"0.01{i:02d}5") for i in range(40)]})  # 0.01005, 0.01015, ...: 5 places each
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        sa.estimate(sample_numbers(3, seed=7, regions=["LV"]), "Hi", rates=table)
    (message,) = [str(w.message) for w in said if "decimal places" in str(w.message)]
    assert message.startswith("40 rate(s) have more than 4 decimal places")
    assert "row 0: 0.01005 -> 0.0100; row 1: 0.01015 -> 0.0102;" in message  # half-even: to the even digit
    listed = re.findall(r"row (\d+): ", message)
    more = int(re.search(r"\(and (\d+) more\)$", message).group(1))
    assert listed == [str(i) for i in range(len(listed))] and len(listed) + more == 40


def test_templates_and_per_row_texts_count_segments_per_recipient():
    numbers = sample_numbers(4, seed=3, regions=["LV"])
    data = pd.DataFrame({"name": ["Ann", "Zoë 👋", "B" * 200, "Al"]})
    est = sa.estimate(numbers, "Hi {name}, sale today", rates=RATES, data=data)
    texts = [f"Hi {n}, sale today" for n in data["name"]]
    assert est.rows["sms"].tolist() == [segments(t).segments for t in texts] == [1, 1, 2, 1]
    same = sa.estimate(numbers, texts, rates=RATES)
    assert same.rows["sms"].tolist() == [1, 1, 2, 1] and same.message is None
    assert same.totals == est.totals
    # matched by a number column (formatted differently, shuffled) instead of by position
    keyed = data.assign(number=["+" + n for n in numbers]).iloc[::-1]
    assert sa.estimate(numbers, "Hi {name}, sale today", rates=RATES, data=keyed).rows["sms"].tolist() == [1, 1, 2, 1]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (RATES.drop(columns="rate"), "lacks column(s) ['rate']"),
        (RATES.assign(mcc=["24"] + list(RATES.mcc[1:])), "rates row 0: mcc must be 3 digits, got '24'"),
        (RATES.assign(mnc=[None, 1] + list(RATES.mnc[2:])), "rates row 1: mnc must be text"),
        (RATES.assign(rate=[-0.1] + list(RATES.rate[1:])), "rates row 0: rate must be a finite number >= 0"),
        (RATES.assign(rate=[float("nan")] + list(RATES.rate[1:])), "rates row 0: rate: an amount must be finite"),
        (pd.concat([RATES, RATES.iloc[[1]].assign(rate=0.5)], ignore_index=True),
         "rates row 9: a second rate for mcc 247 mnc 01: 0.5 here, 0.03 in row 1"),
        (pd.concat([RATES, RATES.iloc[[0]].assign(rate=0.5)], ignore_index=True),
         "rates row 9: a second default rate (mnc null) for 'Latvia'"),
        (RATES.assign(currency=["EUR"] * 8 + ["GBP"]), "mixes currencies ['EUR', 'GBP']"),
    ],
)
def test_a_bad_rates_table_is_refused_naming_row_and_rule(table, message):
    with pytest.raises(ValueError) as info:
        sa.estimate(["37120012345"], "Hi", rates=table)
    assert message in str(info.value)


def test_mode_dispatch_errors_say_what_is_missing():
    with pytest.raises(TypeError, match="client=.*rates="):
        sa.estimate(["37120012345"], "Hi")
    with pytest.raises(TypeError, match="pass client="):
        sa.estimate(["37120012345"], "Hi", rates=RATES, mode="exact")
    with pytest.raises(TypeError, match="makes no API call"):
        sa.estimate(["37120012345"], "Hi", rates=RATES, progress=False)
    with pytest.raises(ValueError, match="mode must be"):
        sa.estimate(["37120012345"], "Hi", rates=RATES, mode="guess")
    with pytest.raises(sa.ValidationError):
        sa.estimate(["37120012345"], "", rates=RATES)


# --- templates ---------------------------------------------------------------------------------


def test_fill_template_formats_like_str_format():
    data = pd.DataFrame({"name": ["Ann", "Bo"], "amount": [3.5, 10.0], "n": [1, 2]})
    out = fill_template("{name!r} owes {amount:.2f} ({n}) {{literal}}", data)
    assert out.tolist() == ["{!r} owes {:.2f} ({}) {{literal}}".format(*r).replace("{{literal}}", "{literal}")
                            for r in zip(data["name"], data["amount"], data["n"])]
    assert placeholders("Hi {name}, {code} / {name}") == ["name", "code"]


@pytest.mark.parametrize(
    ("template", "data", "message"),
    [
        ("Hi {first_name}", pd.DataFrame({"name": ["Ann"]}), "{first_name} have no column in data (columns: name)"),
        ("Hi {name}", pd.DataFrame({"name": ["Ann", None, "Bo"]}), "{name}: column 'name' is missing a value in data rows [1]"),
        ("Hi {0}", pd.DataFrame({"name": ["Ann"]}), "{0} must be a plain column name"),
        ("Hi {name", pd.DataFrame({"name": ["Ann"]}), "not a valid str.format template"),
    ],
)
def test_template_errors_name_the_placeholder(template, data, message):
    with pytest.raises(TemplateError) as info:
        fill_template(template, data)
    assert message in str(info.value)


# --- what-if on quotes built from API-shaped answers ----------------------------------------------


def build_quote(numbers: list[str], rates: list[str], message: str, tax: str = "0", currency: str = "GBP") -> Quote:
    """A Quote as client.calculate() builds it: one calculate answer, destinations grouped by (name, rate)."""
    sms = segments(message).segments
    groups: dict[tuple[str, str], list[str]] = {}
    for i, (number, rate) in enumerate(zip(numbers, rates)):
        groups.setdefault((("Latvia LMT", "Latvia ", "Denmark Telenor")[i % 3], rate), []).append(number)
    destinations, subtotal = [], D(0)
    for (name, rate), members in groups.items():
        each = D(rate) * sms
        subtotal += each * len(members)
        destinations.append({
            "numbers": [{"phone_number": int(n), "destination": name, "sms": sms, "rate": D(rate), "total": each}
                        for n in members],
            "destination": name, "sms_count": sms * len(members), "price": D(rate), "total": each * len(members)})
    info = {"sms_count": sms * len(numbers), "subtotal": subtotal, "tax": D(tax), "total": subtotal + D(tax)}
    return Quote.build(message, [numbers], [{"calculate": {"info": info, "destinations": destinations}}],
                       countries=["Latvia", "Denmark"], currency=currency, recipients=normalize_recipients(numbers))


NUMBERS = [f"3712000{i:04d}" for i in range(30)]
RATE_LIST = [("0.0123", "0.4397", "0.05")[i % 3] for i in range(30)]


def test_reprice_with_the_same_text_gives_the_quote_back_exactly():
    quote = build_quote(NUMBERS, RATE_LIST, "Hello")
    again = quote.reprice(message="Hello")
    assert isinstance(again, Quote) and again.source == "what-if" and quote.source == "api" and again.chunks == 0
    pd.testing.assert_frame_equal(again.numbers, quote.numbers)
    pd.testing.assert_frame_equal(again.destinations, quote.destinations)
    assert (again.sms_count, again.subtotal, again.tax, again.total) == (quote.sms_count, quote.subtotal,
                                                                        quote.tax, quote.total)


def test_reprice_to_a_longer_unicode_text_multiplies_by_its_segments():
    quote = build_quote(NUMBERS, RATE_LIST, "Hello")
    text = "Grüße aus Riga — 20 % Rabatt heute! " * 4  # the em dash forces UCS-2: 144 units, 3 parts
    assert segments(text).encoding == "UCS-2" and segments(text).segments == 3
    new = quote.reprice(message=text)
    assert new.message == text and (new.numbers["sms"] == 3).all() and new.sms_count == 90
    assert new.numbers["total"].tolist() == [r * 3 for r in quote.numbers["rate"]]
    assert new.subtotal == quote.subtotal * 3 == sum(new.numbers["total"], D(0))
    assert new.destinations["total"].tolist() == [t * 3 for t in quote.destinations["total"]]
    assert new.destinations["sms_count"].tolist() == [c * 3 for c in quote.destinations["sms_count"]]
    # the original quote is untouched
    assert (quote.numbers["sms"] == 1).all()


def test_reprice_keeps_the_quotes_tax_ratio():
    quote = build_quote(NUMBERS, RATE_LIST, "Hello", tax="1.506")  # 30 % of the subtotal 5.02
    assert quote.subtotal == D("5.02") and quote.tax / quote.subtotal == D("0.3")
    new = quote.reprice(message=TWO_PARTS)
    assert new.subtotal == D("10.04") and new.tax == D("3.012") and new.total == D("13.052")
    odd = build_quote(NUMBERS, RATE_LIST, "Hello", tax="0.0007")  # 0.0007 / 5.02: a ratio with no end
    parts = segments(TWO_PARTS * 3).segments
    assert parts == 4
    assert odd.reprice(message=TWO_PARTS * 3).tax == D("0.0028")  # 0.0007 x 4, rounded to 4 places


def test_reprice_with_a_template_prices_each_recipient_by_its_own_text():
    quote = build_quote(NUMBERS, RATE_LIST, "Hello")
    names = ["Ann", "Zoë 👋", "B" * 150] * 10
    data = pd.DataFrame({"name": names, "number": ["+" + n for n in NUMBERS]}).sample(frac=1, random_state=1)
    new = quote.reprice(template="Hi {name}, sale today", data=data)
    expected_sms = segment_counts([f"Hi {n}, sale today" for n in names])["segments"].tolist()
    assert new.numbers["sms"].tolist() == expected_sms and set(expected_sms) == {1, 2}
    assert new.numbers["total"].tolist() == [r * s for r, s in zip(quote.numbers["rate"], expected_sms)]
    assert new.subtotal == sum(new.numbers["total"], D(0)) and new.sms_count == sum(expected_sms)
    assert sum(new.destinations["total"], D(0)) == new.subtotal
    by_position = quote.reprice(template="Hi {name}, sale today", data=pd.DataFrame({"name": names}))
    pd.testing.assert_frame_equal(by_position.numbers, new.numbers)


def test_reprice_refuses_unclear_requests():
    quote = build_quote(NUMBERS, RATE_LIST, "Hello")
    with pytest.raises(TypeError, match="exactly one of"):
        quote.reprice()
    with pytest.raises(TypeError, match="exactly one of"):
        quote.reprice(message="a", template="b")
    with pytest.raises(TypeError, match="needs data="):
        quote.reprice(template="Hi {name}")
    with pytest.raises(sa.ValidationError):
        quote.reprice(message="")
    with pytest.raises(TemplateError, match=r"\{first\} have no column"):
        quote.reprice(template="Hi {first}", data=pd.DataFrame({"name": ["x"] * 30}))
    with pytest.raises(TemplateError, match="29 rows for 30 recipients"):
        quote.reprice(template="Hi {name}", data=pd.DataFrame({"name": ["x"] * 29}))
    with pytest.raises(TemplateError, match="no row for 1 recipient"):
        quote.reprice(template="Hi {name}", data=pd.DataFrame({"name": ["x"] * 29, "number": NUMBERS[:29]}))


# --- compare ---------------------------------------------------------------------------------


def test_compare_finds_the_numbers_and_groups_that_disagree():
    numbers = sample_numbers(12, seed=4, regions=["LV"])
    est = sa.estimate(numbers, "Hello", rates=RATES)
    expected = est.rows["expected"].tolist()
    # A quote that agrees except for one number priced above the estimate's range.
    rates = [str(e) for e in expected]
    rates[0] = "0.9"
    quote = build_quote(numbers, rates, "Hello", currency="EUR")
    per_number = sa.compare(est, quote, by="number")
    assert per_number["number"].tolist() == [numbers[0]]
    assert per_number.loc[0, "status"] == "outside range" and per_number.loc[0, "difference"] == D("0.9") - expected[0]
    assert len(sa.compare(est, quote, by="number", only_mismatches=False)) == 12
    groups = sa.compare(est, quote, by="country")
    assert groups.loc[0, "country"] == "Latvia" and not groups.loc[0, "agrees"] and groups.loc[0, "mismatched"] == 1
    assert groups.loc[0, "difference"] == quote.subtotal - est.totals.expected
    # a number the estimate has that the quote lacks, and the other way round
    short = build_quote(numbers[1:], rates[1:], "Hello", currency="EUR")
    status = sa.compare(est, short, by="number").set_index("number")["status"]
    assert status[numbers[0]] == "only offline"
    with pytest.raises(ValueError, match="EUR but the quote in GBP"):
        sa.compare(est, build_quote(numbers, rates, "Hello"))


@pytest.mark.parametrize("message", [123, None, b"Sale today", 4.5, {"text": "Hi"}])
def test_a_message_that_is_not_text_is_refused_by_name(message):
    with pytest.raises(TypeError) as refused:
        sa.estimate(["+37120000001", "+37120000002"], message, rates=RATES)
    said = str(refused.value)
    assert said.startswith("message must be a str (one text for every number), a list or Series of str")
    assert said.endswith(f"got {type(message).__name__}")


def test_a_mapping_of_numbers_is_refused_not_read_as_its_keys():
    by_customer = {"C001": "+37120000001", "C002": "+37120000002"}
    for call in (lambda: sa.estimate(by_customer, "Hi", rates=RATES), lambda: normalize_recipients(by_customer)):
        with pytest.raises(TypeError, match=r"numbers is a mapping: pass pd.Series\(d\) for its values"):
            call()
    # the spelling it suggests prices the values, and reports refusals by the mapping's keys
    est = sa.estimate(pd.Series(by_customer | {"C003": "n/a"}), "Hi", rates=RATES)
    assert len(est.rows) == 2 and est.unplaced["index"].tolist() == ["C003"]


def test_a_text_holding_a_lone_surrogate_is_refused_before_any_pricing():
    # half of a UTF-16 pair: no UTF-8 for it, so no request could carry it; a whole pair is one emoji
    latvia = sample_numbers(2, seed=7, regions=["LV"])
    said = "character 2 is a lone surrogate U+D83D, not text that can be sent (UTF-8 has no bytes for it)"
    with pytest.raises(sa.ValidationError) as one:
        sa.estimate(latvia, "Hi\ud83d", rates=RATES)
    assert str(one.value).startswith(f"message: {said}") and one.value.field_errors == {"message": [said]}
    with pytest.raises(sa.ValidationError, match=rf"^1 recipient\(s\) get a text that cannot be sent, first "
                                                 rf"{latvia[1]}'s: character 1 is a lone surrogate U\+DC00"):
        sa.estimate(latvia, ["fine", "x\udc00"], rates=RATES)
    data = pd.DataFrame({"name": pd.Series(["Ann", "\ud800"], dtype=object)})  # object: Arrow text cannot hold one
    with pytest.raises(sa.ValidationError, match=r"^1 recipient\(s\) get a text that cannot be sent"):
        sa.estimate(latvia, "Hi {name}", rates=RATES, data=data)
    assert sa.estimate(latvia, ["fine", "x\ud83d\ude00".encode("utf-16", "surrogatepass").decode("utf-16")],
                       rates=RATES).sms_count == 2  # the pair, joined, is U+1F600
