"""Files as spreadsheets export them, country lookup, part breaks, send risks and exports (issue 23).

Oracles are independent of the code: files are written here with Python's own codecs and
openpyxl; countries are checked against phonenumbers' country codes; part boundaries against
``smsutil``'s split of GSM text; numbers against ``normalize_recipients`` (what the apps price).
"""
from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pandas as pd
import phonenumbers
import pytest
import smsutil

from smsgic_analytics.apps.panels import export_bytes, problems_html
from smsgic_analytics.audience.recipients import normalize_recipients
from smsgic_analytics.audience.tidy import propose_tidying, read_sheet
from smsgic_analytics.numbers.countries import find_regions, region_for
from smsgic_analytics.numbers.samples import sample_numbers
from smsgic_analytics.sending.risks import campaign_risks
from smsgic_analytics.text.segments import part_breaks, segments

NUMBERS = sample_numbers(6, seed=11, regions=["GB", "DE", "LV"])


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- reading ------------------------------------------------------------------------------------


def test_a_semicolon_windows_1252_export_is_read_with_its_accents_and_text_cells():
    content = ("name;telefon\n" + "\n".join(f"Zoë;{n}" for n in NUMBERS)).encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # what failed before: the file is not UTF-8
    sheet = read_sheet("export.csv", content)
    assert list(sheet.frame.columns) == ["name", "telefon"]
    assert sheet.frame["name"].tolist() == ["Zoë"] * len(NUMBERS)
    assert sheet.frame["telefon"].tolist() == NUMBERS
    assert sheet.frame.index.tolist() == list(range(2, len(NUMBERS) + 2))  # spreadsheet rows, header = 1
    assert "semicolon" in sheet.describe() and "Windows-1252" in sheet.describe()


@pytest.mark.parametrize("sep, bom", [("\t", b""), (",", b"\xef\xbb\xbf"), ("|", b"")])
def test_other_delimiters_and_a_byte_order_mark(sep, bom):
    content = bom + f"phone{sep}city\n".encode() + "".join(f"0{n}{sep}Rīga\n" for n in NUMBERS).encode("utf-8")
    frame = read_sheet("a.txt" if sep == "|" else "a.csv", content).frame
    assert list(frame.columns) == ["phone", "city"]  # no "\ufeffphone"
    assert frame["phone"].tolist() == [f"0{n}" for n in NUMBERS]  # leading zeros kept: text
    assert set(frame["city"]) == {"Rīga"}


def test_an_unreadable_file_is_refused_in_words():
    with pytest.raises(ValueError, match=r"numbers\.pdf: upload a \.csv or \.xlsx"):
        read_sheet("numbers.pdf", b"%PDF")
    with pytest.raises(ValueError, match="empty"):
        read_sheet("empty.csv", b"  \n")


# --- tidying ------------------------------------------------------------------------------------


def test_float_renderings_are_proposed_then_applied_only_when_accepted():
    values = pd.Series([f"{n}.0" for n in NUMBERS[:4]] + ["12ab", f"{NUMBERS[4]}", "4.474e+11"],
                       index=range(2, 9), dtype=object)
    before = normalize_recipients(values, on_invalid="report")
    assert len(before.invalid) == 6  # .0 renderings, junk and an exponent are refused as they are
    tidying = propose_tidying(values)
    assert tidying.changes["row"].tolist() == [2, 3, 4, 5]
    assert tidying.summary() == [f"4 numbers written as {NUMBERS[0]}.0 → {NUMBERS[0]}"]
    assert values.iloc[0] == f"{NUMBERS[0]}.0"  # proposing changed nothing
    after = normalize_recipients(tidying.apply(values), on_invalid="report")
    assert list(after.numbers) == NUMBERS[:5]
    # the exponent lost digits and the junk is junk: still refused, with their rows
    assert after.invalid["index"].tolist() == [6, 8]


def test_excel_number_cells_are_their_digits_and_a_fraction_is_refused():
    content = _xlsx([["phone"], [float(NUMBERS[0])], [int(NUMBERS[1])], [4474001234.5], [f"{NUMBERS[2]}.0"]])
    sheet = read_sheet("book.xlsx", content)
    tidying = propose_tidying(sheet.frame["phone"])
    assert tidying.changes[["row", "after"]].values.tolist() == [[5, NUMBERS[2]]]  # a text cell written as a float
    people = normalize_recipients(tidying.apply(sheet.frame["phone"]), on_invalid="report")
    assert list(people.numbers) == NUMBERS[:3]  # whole-number cells are their digits
    assert people.invalid["index"].tolist() == [4]  # .5 is not a number's digits: refused, not rounded
    floats = propose_tidying(pd.Series([float(NUMBERS[0]), 4474001234.5], index=[2, 3]))
    assert floats.changes[["row", "after"]].values.tolist() == [[2, NUMBERS[0]]]


def test_national_numbers_are_proposed_for_the_picked_country():
    gb = phonenumbers.example_number_for_type("GB", phonenumbers.PhoneNumberType.MOBILE)
    national = phonenumbers.format_number(gb, phonenumbers.PhoneNumberFormat.NATIONAL)
    e164 = phonenumbers.format_number(gb, phonenumbers.PhoneNumberFormat.E164)
    values = pd.Series([national, e164], index=[2, 3], dtype=object)
    assert len(propose_tidying(values)) == 0  # no country picked: nothing is guessed
    tidying = propose_tidying(values, "GB")
    assert tidying.changes[["row", "before", "after"]].values.tolist() == [[2, national, e164]]
    assert "national number read as GB" in tidying.summary()[0]


# --- country lookup -----------------------------------------------------------------------------


@pytest.mark.parametrize("query, calling_code", [
    ("UK", 44), ("uk", 44), ("GB", 44), ("GBR", 44), ("United Kingdom", 44), ("king", 44),
    ("DE", 49), ("Deutschland", 49), ("germany", 49), ("SE", 46), ("Sverige", 46), ("España", 34),
    ("espana", 34), ("Schweiz", 41), ("Suisse", 41), ("UA", 380), ("Ukraine", 380), ("USA", 1),
])
def test_a_country_is_found_by_name_code_or_alias(query, calling_code):
    found = find_regions(query)
    expected = phonenumbers.region_code_for_country_code(calling_code)
    assert expected in found
    if calling_code != 1 and len(query) <= 3:
        assert found == (expected,)  # a code is that country only: "UK" is not Ukraine, "DE" not Sweden


def test_short_queries_are_not_substrings_and_rate_names_find_their_region():
    assert find_regions("xx") == () and find_regions("") == ()
    assert region_for("Czech Republic") == phonenumbers.region_code_for_country_code(420)
    assert region_for("The Democratic Republic Of Congo", "630") == phonenumbers.region_code_for_country_code(243)


# --- part breaks --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["a" * 2000, "Hello {name}, " * 40 + "€" * 30, "x" * 160, "x" * 161])
def test_part_breaks_match_smsutil_for_gsm_text(text):
    parts = smsutil.split(text).parts
    expected, start = [], 0
    for part in parts[:-1]:
        start += len(part.content)
        expected.append(start)
    assert part_breaks(text) == expected
    assert len(part_breaks(text)) + 1 == segments(text).segments == len(parts)


def test_part_breaks_never_cut_an_emoji():
    text = "😀" * 80  # 160 UTF-16 units: 3 parts of at most 67 units, a surrogate pair never split
    breaks = part_breaks(text)
    assert len(breaks) + 1 == len(smsutil.split(text).parts)
    assert all(b % 1 == 0 and text[b] == "😀" for b in breaks)


# --- risks --------------------------------------------------------------------------------------


def test_risks_name_many_parts_and_numbers_no_country_owns():
    long = "a" * 2000
    parts = len(smsutil.split(long).parts)
    risks = campaign_risks(long, ["99912345678", "80012345678", NUMBERS[0]], sms_count=3 * parts, total=None)
    assert [r.key for r in risks] == ["parts", "unplaceable"]
    assert f"{parts} parts" in risks[0].text
    assert "2 number(s)" in risks[1].text and "+99912345678" in risks[1].text
    assert campaign_risks("Hi", NUMBERS, sms_count=len(NUMBERS), total=Decimal("1")) == []


def test_risks_compare_price_and_size_with_this_accounts_sends():
    history = pd.DataFrame({"sms_count": [10, 12, 8], "total": [Decimal("1.0"), Decimal("1.2"), Decimal("0.8")]})
    usual = campaign_risks("Hi", NUMBERS, sms_count=12, total=Decimal("1.2"), history=history)
    assert usual == []
    dear = campaign_risks("Hi", NUMBERS, sms_count=12, total=Decimal("12"), history=history, currency="GBP")
    assert [r.key for r in dear] == ["price"] and "10.0 times" in dear[0].text
    big = campaign_risks("Hi", NUMBERS, sms_count=600, total=Decimal("60"), history=history)
    assert [r.key for r in big] == ["size"] and "50 times" in big[0].text


# --- exports and problem boxes -------------------------------------------------------------------


def test_exports_keep_money_exact_in_csv_and_xlsx():
    frame = pd.DataFrame({"country": ["Zoë-land"], "total": [Decimal("12.3456")],
                          "at": pd.to_datetime(["2026-03-02 09:00"]).tz_localize("UTC")})
    csv = export_bytes(frame, "csv").decode("utf-8-sig")
    assert csv.splitlines() == ["country,total,at", "Zoë-land,12.3456,2026-03-02 09:00:00"]
    sheet = openpyxl.load_workbook(io.BytesIO(export_bytes(frame, "xlsx"))).active
    assert [c.value for c in sheet[2]][:2] == ["Zoë-land", 12.3456]


def test_a_problem_box_counts_by_reason_and_lists_only_the_first_rows():
    rows = pd.DataFrame({"row": range(2, 502), "value": [f"{n}.0" for n in range(500)],
                         "reason": ["looks like a float's rendering"] * 499 + ["too short"]})
    box = problems_html(rows, "500 refused", "refused")
    assert "<b>499</b> × looks like a float&#x27;s rendering" in box and "<b>1</b> × too short" in box
    assert box.count("<tr>") <= 21  # a header and the first 20 rows; the download has all 500
    assert "download='refused.csv'" in box and "download='refused.xlsx'" in box
