"""Issue 23 against a real sandbox: everyday exports, errors sized for people, warnings before
costly mistakes, screens that never contradict themselves, country lookup, send-at zones.

Driven like a person: file bytes into the upload, values into widgets, clicks on buttons.
Expected prices come from the API itself (``client.calculate`` on the clean numbers); part
counts from ``smsutil``; time zones from ``zoneinfo``.
"""
from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import smsutil
from phonebook import phone_numbers

import smsgic_analytics as sa
from smsgic_analytics.core import spec

POST_SENDINGS = ("POST", spec.SENDINGS)
PYTHON_TALK = ("Traceback", "UserWarning", "dtype=str", "pd.read_csv", "default_region=", "Error:", ".py")


def _upload(app, name: str, content: bytes) -> None:
    app.upload.value = ({"name": name, "type": "", "size": len(content), "content": memoryview(content),
                         "last_modified": datetime.now(UTC)},)


def _shown(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def _exports(numbers: list[str], *, sep: str = ";", encoding: str = "cp1252", suffix: str = ".0") -> bytes:
    return (f"name{sep}telefon\n" + "".join(f"Zoë{sep}{n}{suffix}\n" for n in numbers)).encode(encoding)


def _sender(client, message: str = "Flash sale today only"):
    app = sa.SenderApp(client)
    app.sender_input.value = "MegaShop"
    app.message_input.value = message
    return app


# --- uploads --------------------------------------------------------------------------------------


def test_a_semicolon_cp1252_float_export_is_priced_after_tidying(make_client):
    client = make_client()
    numbers = phone_numbers(8, seed=231)
    app = sa.EstimatorApp(client, message="Hi")
    _upload(app, "crm-export.csv", _exports(numbers))
    assert app.column.value == "telefon" and "semicolon" in app.audience.file_note.value
    assert len(app.invalid) == 8 and app.total == 0  # as written, nothing is a number: nothing priced
    note = _shown(app.audience.tidy_note.value)
    assert f"8 numbers written as {numbers[0]}.0 → {numbers[0]}" in note
    app.audience.tidy_button.click()
    assert app.invalid.empty and app.mode == "offline"
    quote = app.exact_quote()
    expected = client.calculate("Hi", numbers, progress=False)
    assert quote is not None and quote.total == expected.total and app.total == expected.total


def test_a_failed_upload_clears_the_previous_total_and_the_quote_note(make_client):
    app = sa.EstimatorApp(make_client(), numbers=phone_numbers(5, seed=232), message="Hi")
    assert app.exact_quote() is not None and "Exact quote: 5" in app.status.value
    _upload(app, "numbers.pdf", b"%PDF-1.4")
    assert app.total is None and app.mode is None and app.table.empty
    assert "Exact quote" not in app.status.value and "Exact quote" not in app.totals.value
    assert "numbers.pdf" in app.status.value and "ValidationError" not in _shown(app.status.value)


def test_exact_quote_and_offline_estimate_describe_one_audience(make_client):
    app = sa.EstimatorApp(make_client(), numbers=phone_numbers(40, seed=233), message="Hi")
    app.exact_quote()
    app.numbers_input.value = "\n".join(phone_numbers(2, seed=234))
    assert app.mode == "offline" and "40" not in _shown(app.status.value)
    assert "2 numbers" in _shown(app.totals.value)


def test_the_sender_takes_a_file_tidies_it_and_drops_refused_rows_when_asked(make_client, sandbox, fresh_token):
    numbers = phone_numbers(4, seed=235)
    app = _sender(make_client(fresh_token))
    _upload(app, "list.csv", _exports(numbers) + "Bob;n/a\n".encode("cp1252"))
    sandbox.reset_stats()
    app.quote()
    assert app.state == "error" and isinstance(app.result, sa.errors.InvalidRecipientsError)
    assert app.drop_invalid.layout.display != "none" and "5 refused" in app.drop_invalid.description
    app.audience.tidy()
    app.quote()
    assert app.state == "error" and "1 refused" in app.drop_invalid.description  # n/a is still not a number
    app.drop_invalid.value = True
    app.quote()
    assert app.state == "quoted" and app.preview.recipients == 4
    assert "1 refused row(s) dropped" in app.summary.value and "download='dropped-recipients.csv'" in app.summary.value
    assert POST_SENDINGS not in sandbox.stats()


@pytest.mark.parametrize("kind", ["estimator", "sender"])
def test_a_file_replaces_the_typed_numbers_and_typing_again_forgets_the_file(make_client, fresh_token, kind):
    """Both apps: the typed box is emptied and names the file; typing again uses the typed
    numbers (the file is forgotten); a file that cannot be read leaves no typed numbers behind."""
    typed, filed = phone_numbers(2, seed=240), phone_numbers(3, seed=241)
    app = sa.EstimatorApp(make_client(), message="Hi") if kind == "estimator" else _sender(make_client(fresh_token))
    box = app.numbers_input if kind == "estimator" else app.recipients_input
    empty = box.placeholder
    box.value = "\n".join(typed)
    assert app.audience.values.tolist() == typed
    _upload(app, "list.csv", ("phone\n" + "\n".join(filed) + "\n").encode())
    assert box.value == "" and "list.csv" in box.placeholder
    assert app.audience.sheet is not None and app.audience.values.tolist() == filed
    box.value = typed[0]
    assert app.audience.sheet is None and app.audience.values.tolist() == typed[:1] and box.placeholder == empty
    _upload(app, "numbers.pdf", b"%PDF-1.4")
    assert box.value == "" and box.placeholder == empty and app.audience.values.tolist() == []
    assert app.audience.error is not None


# --- errors sized for people ----------------------------------------------------------------------


def test_five_hundred_float_rows_give_a_bounded_error_in_words(make_client, fresh_token):
    numbers = phone_numbers(500, seed=236)
    app = _sender(make_client(fresh_token))
    app.recipients_input.value = "\n".join(f"{n}.0" for n in numbers) + f"\n{numbers[0]}\n{numbers[0]}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a duplicate recipient is said in words, never as a Python warning
        app.quote()
    assert app.state == "error"
    html = app.summary.value
    assert len(_shown(html)) < 8_000, len(_shown(html))  # was 124,594 characters (the downloads are links)
    assert app.summary.layout.max_height == "600px" and app.summary.layout.overflow == "auto"
    text = _shown(html)
    assert "<b>500</b>" in html and "Download all" in text and "refused-recipients.xlsx" in html
    assert not [w for w in PYTHON_TALK if w in text], text[:2000]


# --- warnings before costly mistakes --------------------------------------------------------------


def test_a_fourteen_part_message_needs_its_warning_ticked_before_send(make_client, sandbox, fresh_token):
    long = "Our spring catalogue is here. " * 67
    parts = len(smsutil.split(long).parts)
    assert parts == 14
    app = _sender(make_client(fresh_token), message=long)
    app.recipients_input.value = "\n".join(phone_numbers(3, seed=237))
    assert "14 parts" in _shown(app.parts.value) and app.parts.value.count("smsgic-part-break") == 13
    app.quote()
    assert app.state == "quoted" and [r.key for r in app.risks.risks] == ["parts"]
    assert "14 parts" in app.risks.risks[0].text and app.risks.widget.layout.display != "none"
    assert app.send_button.disabled
    app.request_send()
    assert app.state == "quoted" and app.confirm_panel.layout.display == "none"
    app.risks.checks[0].value = True  # the person ticks it
    assert not app.send_button.disabled
    app.send_button.click()
    assert app.state == "confirming"
    confirm = app.confirm_text.value
    assert "14 parts per recipient" in confirm and "Our spring catalogue is here." in confirm
    assert "Total per country" in confirm and f"{app.preview.total}" in confirm.replace(",", "")
    sandbox.reset_stats()
    app.cancel()
    assert POST_SENDINGS not in sandbox.stats()


def test_numbers_no_country_owns_are_warned_about_before_send(make_client, fresh_token):
    app = _sender(make_client(fresh_token))
    app.recipients_input.value = "+99912345678\n+80012345678\n" + "\n".join(phone_numbers(2, seed=238))
    app.quote()
    assert app.state == "quoted"
    unplaced = [r for r in app.risks.risks if r.key == "unplaceable"]
    assert unplaced and "+99912345678" in unplaced[0].text and "+80012345678" in unplaced[0].text
    assert app.send_button.disabled
    app.risks.acknowledge(["unplaceable"])
    assert not app.send_button.disabled


def test_an_edit_after_ticking_asks_again(make_client, fresh_token):
    app = _sender(make_client(fresh_token), message="x" * 700)
    app.recipients_input.value = "\n".join(phone_numbers(2, seed=239))
    app.quote()
    app.risks.acknowledge()
    app.message_input.value = "y" * 700
    assert app.state == "idle" and app.send_button.disabled
    app.quote()
    assert app.send_button.disabled and not app.risks.acknowledged


# --- send at --------------------------------------------------------------------------------------


def test_send_at_is_read_in_the_picked_time_zone(make_client, fresh_token):
    app = _sender(make_client(fresh_token))
    app.recipients_input.value = "\n".join(phone_numbers(2, seed=240))
    wall = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0, second=0, tzinfo=None)
    app.send_at.set(wall, "America/New_York")
    app.quote()
    assert app.state == "quoted"
    expected = wall.replace(tzinfo=ZoneInfo("America/New_York")).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert app.preview.scheduled_at == expected


# --- rates lookup ---------------------------------------------------------------------------------


@pytest.mark.parametrize("query, country", [("UK", "United Kingdom"), ("DE", "Germany"),
                                            ("Deutschland", "Germany"), ("gb", "United Kingdom")])
def test_rates_are_found_by_code_alias_or_own_name(make_client, query, country):
    app = sa.RateExplorerApp(make_client())
    assert set(app.filter(country=query)["country"].astype(str)) == {country}
    assert "download='rates.csv'" in app.table_exports.value
