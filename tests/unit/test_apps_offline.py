"""The ipywidgets apps without a server: counter, advisor, offline pricing, uploads, rate filters.

Driven like a user does: set widget values, click buttons; then read what the widgets show.
Prices come from a small hand-written rates table over real numbering data (Latvian and
Danish MCC/MNC), and are checked against ``offline_estimate`` called directly.
"""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import ipywidgets as w
import pandas as pd
import pytest

import smsgic_analytics as sa
from smsgic_analytics.analytics.charts import cost_by_country
from smsgic_analytics.apps.estimator import EstimatorApp, counter_text
from smsgic_analytics.apps.rates import DEFAULT_LABEL, RateExplorerApp
from smsgic_analytics.apps.widgets import PLOTLY_MIME, figure_bundle, frame_html, parse_numbers, read_table
from smsgic_analytics.numbers.classify import classify
from smsgic_analytics.numbers.samples import sample_numbers
from smsgic_analytics.pricing.estimate import offline_estimate
from smsgic_analytics.text.segments import segments

RATES = pd.DataFrame({
    "mcc": ["247", "247", "247", "247", "238"],
    "mnc": [None, "01", "02", "05", None],
    "country": ["Latvia", "Latvia", "Latvia", "Latvia", "Denmark"],
    "rate": [0.1678, 0.1195, 0.1362, 0.1678, 0.2670],
    "currency": ["GBP"] * 5,
})
NUMBERS = sample_numbers(12, seed=3, regions=["LV", "DK"])
GSM_210 = "A" * 210


def _classes(widget: w.Widget) -> set[str]:
    return set(widget._dom_classes)


def _all_widgets(root: w.Widget) -> list[w.Widget]:
    out, todo = [], [root]
    while todo:
        widget = todo.pop()
        out.append(widget)
        todo.extend(getattr(widget, "children", ()))
    return out


def _upload(name: str, content: bytes) -> tuple[dict, ...]:
    return ({"name": name, "type": "", "size": len(content), "content": memoryview(content),
             "last_modified": datetime.now(UTC)},)


# --- counter and advisor -----------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("", "GSM-7 · 1 segment · 0/160 septets"),
    ("A" * 160, "GSM-7 · 1 segment · 160/160 septets"),
    (GSM_210, "GSM-7 · 2 segments · 210/306 septets"),
    ("Price €5", "GSM-7 · 1 segment · 9/160 septets"),  # € is an escape pair: 2 septets
    ("Hi 👋", "UCS-2 · 1 segment · 5/70 UTF-16 units"),
    ("é" * 60 + "ç" * 20, "UCS-2 · 2 segments · 80/134 UTF-16 units"),
])
def test_counter_text_names_encoding_parts_and_units(text, expected):
    assert counter_text(text) == expected


def test_counter_updates_on_every_keystroke_without_prices():
    app = EstimatorApp()
    assert app.message_input.continuous_update is True
    for text in ("H", "Hello", GSM_210, "Hello “you”"):
        app.message_input.value = text
        assert app.counter_text == counter_text(text) == app.counter.value
    assert app.mode is None and app.total is None
    assert "Paste or upload numbers" in app.totals.value


def test_advisor_names_forcing_characters_and_applies_the_suggestion():
    app = EstimatorApp(numbers=NUMBERS, rates=RATES)
    text = "Sale “today” – 20% off " + "x" * 50  # curly quotes and an en dash force UCS-2: 2 parts
    app.set_message(text)
    assert segments(text).segments == 2
    assert "“" in app.advice.value and "–" in app.advice.value
    assert app.apply_button.layout.display != "none"
    total_before = app.total
    app.apply_button.click()
    assert app.message_input.value == 'Sale "today" - 20% off ' + "x" * 50
    assert app.counter_text.startswith("GSM-7 · 1 segment")
    assert app.total == total_before / 2  # rate x parts: one part instead of two
    assert app.advice.value == "" and app.apply_button.layout.display == "none"


def test_advisor_money_saving_is_the_exact_difference_of_totals():
    app = EstimatorApp(numbers=NUMBERS, rates=RATES)
    text = "“" + "x" * 80  # UCS-2, 2 parts; GSM-7 after the suggestion, 1 part
    app.set_message(text)
    now = offline_estimate(NUMBERS, text, RATES).totals.expected
    after = offline_estimate(NUMBERS, '"' + "x" * 80, RATES).totals.expected
    assert f"{now - after} GBP" in app.advice.value


# --- offline pricing ----------------------------------------------------------------------------


def test_offline_table_and_total_match_the_offline_estimate():
    numbers = NUMBERS + ["12ab", NUMBERS[0]]
    app = EstimatorApp(numbers=numbers, rates=RATES, message="Hello")
    expected = offline_estimate(numbers, "Hello", RATES)
    assert app.mode == "offline"
    assert app.total == expected.totals.expected
    pd.testing.assert_frame_equal(app.table, expected.by_operator())
    assert sum(app.table["expected"], Decimal(0)) == app.total
    assert int(app.table["numbers"].sum()) == len(expected.placed)
    assert f"expected {app.total} GBP" in app.totals.value
    chart = app.chart.outputs[0]["data"][PLOTLY_MIME]["data"][0]
    assert sorted(chart["y"]) == sorted(expected.by_country()["country"].astype(str))


def test_invalid_and_duplicate_rows_are_listed_with_reasons_not_dropped():
    app = EstimatorApp(rates=RATES, message="Hi")
    app.numbers_input.value = f"{NUMBERS[0]}\n12ab, {NUMBERS[1]}\n\n+{NUMBERS[0]}\n1234"
    invalid = app.invalid
    assert invalid["value"].tolist() == ["12ab", "1234"]
    assert invalid["index"].tolist() == [2, 5]  # 1-based entries; the blank line holds none
    assert "characters other than digits" in invalid["reason"].iloc[0]
    assert "too short" in invalid["reason"].iloc[1]
    box = app.invalid_box
    assert box.layout.display != "none"
    for text in ("2 invalid number(s)", "12ab", "1234", "too short", "1 duplicate(s)"):
        assert text in box.value
    assert app.duplicates["index"].tolist() == [4]
    assert int(app.table["numbers"].sum()) == 2  # the two unique valid numbers


def test_segment_count_drives_the_price_and_equal_counts_reuse_it():
    app = EstimatorApp(numbers=NUMBERS, rates=RATES, message="short")
    one = app.total
    app.set_message("another short text")  # still 1 part: same price
    assert app.total == one
    app.set_message(GSM_210)
    assert app.total == 2 * one
    assert app.total == offline_estimate(NUMBERS, GSM_210, RATES).totals.expected


def test_new_numbers_reprice_and_textarea_echoes_them():
    app = EstimatorApp(rates=RATES, message="Hi")
    app.set_numbers(pd.Series(NUMBERS[:3], index=[10, 11, 12]))
    assert app.numbers_input.value == "\n".join(NUMBERS[:3])
    assert app.total == offline_estimate(NUMBERS[:3], "Hi", RATES).totals.expected
    app.set_numbers(pd.Series(["bad"], index=["row-7"]))
    assert app.invalid["index"].tolist() == ["row-7"]


def test_pasted_text_set_from_python_shows_in_the_textarea_and_replaces_a_file():
    app = EstimatorApp(rates=RATES, message="Hi")
    app.numbers_input.value = NUMBERS[0]
    text = f"{NUMBERS[1]}, {NUMBERS[2]}\nnot-a-number"
    app.set_numbers(text)
    assert app.numbers_input.value == text  # the box shows what is priced, not the earlier typing
    assert app.total == offline_estimate(NUMBERS[1:3], "Hi", RATES).totals.expected
    assert app.invalid["value"].tolist() == ["not-a-number"]
    app.audience.load("audience.csv", f"phone\n{NUMBERS[0]}\n".encode())
    assert app.numbers_input.value == ""
    app.set_numbers(text)  # the same text again, after a file: the text is priced, not the file
    assert app.numbers_input.value == text
    assert app.total == offline_estimate(NUMBERS[1:3], "Hi", RATES).totals.expected


def test_a_big_audience_set_from_python_is_not_echoed_into_the_textarea():
    numbers = [f"3712{i:07d}" for i in range(6_000)]
    app = EstimatorApp(rates=RATES, message="Hi")
    app.set_numbers(numbers)
    assert app.numbers_input.value == "" and "6,000 numbers set from Python" in app.numbers_input.placeholder
    assert app.total == offline_estimate(numbers, "Hi", RATES).totals.expected
    app.numbers_input.value = NUMBERS[0]  # pasting replaces them
    assert app.total == offline_estimate(NUMBERS[:1], "Hi", RATES).totals.expected


def test_exact_quote_without_client_shows_an_error():
    app = EstimatorApp(numbers=NUMBERS, rates=RATES, message="Hi")
    assert app.quote_button.disabled
    assert app.exact_quote() is None
    assert isinstance(app.error, TypeError) and "no client" in app.status.value


# --- uploads ------------------------------------------------------------------------------------


def test_csv_upload_fills_the_column_picker_and_prices_the_phone_column():
    csv = "name,phone\nAnn,+" + NUMBERS[0] + "\nBob,not a number\nCy," + NUMBERS[1] + "\n"
    app = EstimatorApp(rates=RATES, message="Hi")
    app.upload.value = _upload("audience.csv", csv.encode())
    assert list(app.column.options) == ["name", "phone"] and app.column.value == "phone"
    assert not app.column.disabled
    assert app.invalid["index"].tolist() == [3] and app.invalid["value"].tolist() == ["not a number"]  # sheet row 3
    assert app.total == offline_estimate([NUMBERS[0], NUMBERS[1]], "Hi", RATES).totals.expected
    app.column.value = "name"
    assert len(app.invalid) == 3 and app.total == 0


def test_xlsx_upload_keeps_integral_numbers_and_reports_fractional_ones():
    frame = pd.DataFrame({"Mobile": [int(NUMBERS[2]), int(NUMBERS[3]) + 0.5], "Other": ["a", "b"]})
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    app = EstimatorApp(rates=RATES, message="Hi")
    app.upload.value = _upload("list.xlsx", buffer.getvalue())
    assert app.column.value == "Mobile"
    assert app.invalid["index"].tolist() == [3] and "a float, not text" in app.invalid["reason"].iloc[0]
    assert app.total == offline_estimate([NUMBERS[2]], "Hi", RATES).totals.expected


def test_unreadable_upload_is_reported_with_the_file_name():
    app = EstimatorApp(rates=RATES)
    app.upload.value = _upload("numbers.pdf", b"%PDF-1.4")
    assert isinstance(app.error, ValueError)
    assert "numbers.pdf" in app.status.value and ".csv or .xlsx" in app.status.value


# --- shared helpers -------------------------------------------------------------------------------


def test_parse_numbers_splits_lines_commas_semicolons_and_tabs():
    series = parse_numbers(" 371 2000 0001 ,37120000002\n\n37120000003;37120000004\t37120000005\n")
    assert series.tolist() == ["371 2000 0001", "37120000002", "37120000003", "37120000004", "37120000005"]
    assert series.index.tolist() == [1, 2, 3, 4, 5]


def test_read_table_keeps_csv_text_and_names_spreadsheet_rows():
    df = read_table("a.csv", b"phone\n0037120000001\n\n")
    assert df["phone"].tolist() == ["0037120000001"] and df.index.tolist() == [2]
    with pytest.raises(ValueError, match="upload a .csv or .xlsx"):
        read_table("a.json", b"{}")


def test_frame_html_prints_decimals_exactly_and_escapes_text():
    html = frame_html(pd.DataFrame({"name": ["<b>x</b>"], "total": [Decimal("0.1000")]}))
    assert "0.1000" in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x" not in html


def test_figure_bundle_is_plain_json_for_the_plotly_mime_renderer():
    fig = cost_by_country(pd.DataFrame({"country": ["Latvia"], "total": [Decimal("0.4397")]}), "GBP")
    bundle = figure_bundle(fig)
    assert bundle["output_type"] == "display_data"
    spec = json.loads(json.dumps(bundle))["data"][PLOTLY_MIME]
    assert spec["data"][0]["y"] == ["Latvia"] and spec["layout"]["xaxis"]["title"]["text"] == "Cost (GBP)"


def test_apps_display_as_their_widget_and_every_control_has_a_css_class():
    app = EstimatorApp(rates=RATES)
    bundle = app._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == app.widget.model_id
    for widget in _all_widgets(app.widget):
        if isinstance(widget, (w.Button, w.Textarea, w.Text, w.Dropdown, w.FileUpload)):
            assert any(c.startswith("smsgic-estimator-") for c in _classes(widget)), widget
    assert {"smsgic-estimator-message"} <= _classes(app.message_input)
    assert {"smsgic-estimator-quote"} <= _classes(app.quote_button)
    assert {"smsgic-estimator-counter"} <= _classes(app.counter)


def test_apps_are_exported_lazily_by_the_package():
    assert sa.EstimatorApp is EstimatorApp and sa.RateExplorerApp is RateExplorerApp
    assert {"EstimatorApp", "RateExplorerApp", "SenderApp", "DashboardApp"} <= set(sa.__all__)


# --- rate explorer --------------------------------------------------------------------------------


def test_rate_explorer_names_operators_and_filters_sorts_compares():
    app = RateExplorerApp(rates=RATES)
    names = dict(zip(app.table["mnc"].fillna("null"), app.table["operator"]))
    assert names["null"] == DEFAULT_LABEL == "country default" and names["01"] == "LMT"  # LMT is 247/01 in the numbering data
    assert app.filter(country="LAT")["country"].unique().tolist() == ["Latvia"]
    assert app.filter(operator="lmt")["mnc"].tolist() == ["01"]
    assert app.filter(operator="02")["mnc"].tolist() == ["02"]  # an MNC matches too
    assert len(app.filter(operator="default")) == 2
    app.filter()
    rates = app.sort("rate_desc")["rate"].tolist()
    assert rates == sorted(RATES["rate"], reverse=True)
    comparison = app.compare(["Latvia", "Denmark"]).set_index("country")
    assert comparison.loc["Latvia", "lowest"] == 0.1195 and comparison.loc["Latvia", "highest"] == 0.1678
    assert comparison.loc["Latvia", "operators"] == 3 and comparison.loc["Denmark", "operators"] == 0
    assert comparison.loc["Latvia", "cheapest_operator"] == "LMT (0.1195)"
    with pytest.raises(ValueError, match="Narnia"):
        app.compare(["Narnia"])


def test_rate_explorer_map_follows_the_filter():
    app = RateExplorerApp(rates=RATES)
    locations = app.map.outputs[0]["data"][PLOTLY_MIME]["data"][-1]["locations"]
    assert sorted(locations) == ["DNK", "LVA"]
    app.filter(country="den")
    denmark = app.map.outputs[0]["data"][PLOTLY_MIME]["data"][-1]
    assert denmark["locations"] == ["DNK"]
    # one rate: one colour, one tick at it, nothing below 0 (not a -0.2 to 0.6 scale for 0.267)
    assert denmark["zmin"] == 0 and denmark["zmax"] == 0.267 and denmark["colorbar"]["ticktext"] == ["0.2670"]
    assert len({color for _, color in denmark["colorscale"]}) == 1
    app.filter(country="nowhere")
    assert app.table.empty and "No rate matches" in app.table_view.value


def test_numbers_used_here_are_placed_in_the_rates_countries():
    # Guards the fixtures above: every sample number is Latvian or Danish, as the rates table.
    assert set(classify(NUMBERS)["country"].astype(str)) <= {"Latvia", "Denmark"}
