"""The apps against a real sandbox: driven by widget values and button clicks, checked against
what the API itself says (GET /sendings, POST /sendings/calculate, the sandbox's request stats).
"""
from __future__ import annotations

import re
import threading
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

import pytest
import requests
from phonebook import phone_numbers

import smsgic_analytics as sa
from smsgic_analytics.analytics import figures
from smsgic_analytics.apps.widgets import PLOTLY_MIME
from smsgic_analytics.core import spec
from smsgic_analytics.pricing.estimate import offline_estimate
from smsgic_analytics.sending.campaign import SendResult

POST_SENDINGS = ("POST", spec.SENDINGS)
CALCULATE = ("POST", spec.CALCULATE)
LONG = "Spring sale: 20% off everything until Sunday. Reply STOP to opt out. " * 3  # GSM-7, 2 parts


def _server_sendings(url: str, token: str) -> list[dict]:
    """GET /sendings straight from the server, not through the client under test."""
    response = requests.get(f"{url}{spec.SENDINGS}", headers={"Authorization": f"Bearer {token}",
                                                               "Accept": "application/json"}, timeout=10)
    response.raise_for_status()
    return response.json()["sendings"]


def _traces(output) -> list[dict]:
    return output.outputs[0]["data"][PLOTLY_MIME]["data"] if output.outputs else []


# --- estimator -------------------------------------------------------------------------------------


def test_pasted_numbers_get_an_offline_table_and_the_invalid_one_is_listed(make_client, sandbox):
    client = make_client()
    numbers = phone_numbers(30, seed=11)
    app = sa.EstimatorApp(client)
    sandbox.reset_stats()
    app.numbers_input.value = "\n".join(numbers[:15]) + "\n+44 (0) 77-abc\n" + ", ".join(numbers[15:])
    app.message_input.value = "Hello from the shop"
    assert sandbox.stats() == {}  # offline: the rates were fetched once, at start
    assert app.mode == "offline"
    expected = offline_estimate(numbers + ["+44 (0) 77-abc"], "Hello from the shop", client.rates())
    assert app.total == expected.totals.expected
    assert sum(app.table["expected"], Decimal(0)) == app.total
    assert app.invalid["value"].tolist() == ["+44 (0) 77-abc"] and app.invalid["index"].tolist() == [16]
    assert "+44 (0) 77-abc" in app.invalid_box.value and app.invalid_box.layout.display != "none"
    assert "GBP" in app.totals.value


def test_exact_quote_equals_client_calculate_and_what_if_makes_no_api_call(make_client, sandbox, tmp_path):
    numbers = phone_numbers(40, seed=12) + ["12345"]
    app = sa.EstimatorApp(make_client(), numbers=numbers, message="Hello")
    app.quote_button.click()
    assert app.error is None and app.mode == "quote"
    reference = make_client(cache_dir=tmp_path / "other").calculate("Hello", numbers, progress=False,
                                                                     on_invalid="report")
    assert app.total == reference.total and app.quote.sms_count == reference.sms_count
    assert f"total {reference.total} GBP" in app.totals.value
    assert sum(app.table["total"], Decimal(0)) == reference.subtotal
    assert app.invalid["value"].tolist() == ["12345"]
    bars = _traces(app.chart)[0]
    countries = reference.by_country()["country"].astype(str).tolist()
    folded = len(countries) - figures.TOP if len(countries) > figures.TOP + 1 else 0
    assert bars["y"] == (countries[:figures.TOP] + [f"Other ({folded} countries)"] if folded else countries)
    assert sum(Decimal(c.replace(",", "")) for c in bars["customdata"]) == reference.subtotal

    sandbox.reset_stats()
    app.message_input.value = LONG  # 2 parts: re-priced from the quote's rates
    app.message_input.value = LONG + "!"
    assert sandbox.stats() == {}
    assert app.mode == "what-if" and "What-if" in app.totals.value
    assert app.total == reference.reprice(message=LONG + "!").total
    # and the local what-if is what the API charges for that text
    assert app.total == make_client(cache_dir=tmp_path / "third").calculate(LONG + "!", numbers, progress=False,
                                                                            on_invalid="report").total


def test_new_numbers_after_a_quote_go_back_offline(make_client):
    app = sa.EstimatorApp(make_client(), numbers=phone_numbers(5, seed=13), message="Hi")
    assert app.exact_quote() is not None and app.mode == "quote"
    app.numbers_input.value = "\n".join(phone_numbers(6, seed=14))
    assert app.mode == "offline" and app.quote is None


def test_exact_quote_waits_for_a_message_and_says_so_in_words(make_client, sandbox):
    app = sa.EstimatorApp(make_client(), numbers=phone_numbers(3, seed=15))
    assert app.quote_button.disabled is True and "message" in app.quote_button.tooltip
    sandbox.reset_stats()
    assert app.exact_quote() is None  # from Python: refused before any request
    assert isinstance(app.error, sa.ValidationError) and sandbox.stats() == {}
    shown = re.sub(r"<[^>]+>", "", app.status.value)
    assert "type a message first" in shown and "ValidationError" not in shown
    app.set_message("Hi")
    assert app.quote_button.disabled is False


# --- rate explorer ---------------------------------------------------------------------------------


def test_rate_explorer_filters_like_the_api_and_sorts_by_rate(make_client):
    client = make_client()
    app = sa.RateExplorerApp(client)
    assert len(app.table) == len(client.rates())
    table = app.filter(country="latv")
    api = client.rates(country="latv")
    assert len(table) == len(api) > 1 and set(table["country"].astype(str)) == {"Latvia"}
    assert sorted(table["rate"]) == sorted(api["rate"])
    ordered = app.sort("rate_asc")["rate"].tolist()
    assert ordered == sorted(ordered)
    defaults = app.filter(operator="default")
    assert defaults["mnc"].isna().all() and len(defaults) == client.rates()["country"].nunique()
    comparison = app.compare(["Latvia", "Denmark"]).set_index("country")
    for country in ("Latvia", "Denmark"):
        rows = client.rates(country=country)
        assert comparison.loc[country, "lowest"] == rows["rate"].min()
        assert comparison.loc[country, "highest"] == rows["rate"].max()
        assert comparison.loc[country, "default_rate"] == rows.loc[rows["mnc"].isna(), "rate"].iloc[0]


# --- sender ----------------------------------------------------------------------------------------


def _filled_sender(client, message: str = "Flash sale today only", recipients: list[str] | None = None):
    app = sa.SenderApp(client)
    app.sender_input.value = "MegaShop"
    app.recipients_input.value = "\n".join(recipients or phone_numbers(3, seed=21))
    app.message_input.value = message
    return app


def test_quote_send_confirm_creates_exactly_one_sending(make_client, sandbox, sandbox_url, fresh_token):
    client = make_client(fresh_token)
    app = _filled_sender(client)
    assert app.send_button.disabled and app.state == "idle"
    app.quote_button.click()
    assert app.state == "quoted" and not app.send_button.disabled
    total = app.preview.total
    assert f"Total {total} GBP · balance 450.000 GBP" in app.summary.value
    assert total == client.calculate(app.message_input.value, phone_numbers(3, seed=21), progress=False).total

    app.send_button.click()
    assert app.state == "confirming" and app.confirm_panel.layout.display != "none"
    assert f"{total} GBP" in app.confirm_text.value
    sandbox.reset_stats()
    app.confirm_button.click()
    assert app.state == "sent" and sandbox.stats().get(POST_SENDINGS) == 1
    sendings = _server_sendings(sandbox_url, fresh_token)
    assert [s["id"] for s in sendings] == [app.result.sending_id]
    assert sendings[0]["text"] == "Flash sale today only"
    assert f"sending id <b>{app.result.sending_id}</b>" in app.result_label.value
    assert app.send_button.disabled and app.confirm_button.disabled


def test_double_confirm_click_sends_once(make_client, sandbox, sandbox_url, fresh_token):
    app = _filled_sender(make_client(fresh_token))
    app.quote()
    app.request_send()
    sandbox.reset_stats()
    app.confirm_button.click()
    app.confirm_button.click()  # a disabled button still fires from Python: the state guard holds
    assert sandbox.stats().get(POST_SENDINGS) == 1
    assert app.state == "sent" and isinstance(app.result, SendResult)  # the 2nd click did not overwrite it
    assert len(_server_sendings(sandbox_url, fresh_token)) == 1


def test_confirm_from_two_threads_sends_once(make_client, sandbox, sandbox_url, fresh_token):
    app = _filled_sender(make_client(fresh_token), message="Two threads, one sending")
    app.quote()
    app.request_send()
    sandbox.reset_stats()
    barrier = threading.Barrier(2)
    results: list[object] = []

    def press() -> None:
        barrier.wait()
        results.append(app.confirm())

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r is not None for r in results) == 1
    assert app.state == "sent" and isinstance(app.result, SendResult)
    assert sandbox.stats().get(POST_SENDINGS) == 1
    assert len(_server_sendings(sandbox_url, fresh_token)) == 1


def test_insufficient_balance_shows_the_error_and_posts_nothing(make_client, sandbox, sandbox_url, fresh_token):
    sandbox.set_balance(fresh_token, "0.0100")
    app = _filled_sender(make_client(fresh_token))
    sandbox.reset_stats()
    app.quote_button.click()
    assert app.state == "error" and isinstance(app.result, sa.InsufficientBalanceError)
    assert "InsufficientBalanceError" in app.summary.value and "0.010 GBP" in app.summary.value
    assert app.send_button.disabled
    app.send_button.click()
    app.confirm_button.click()
    assert app.state == "error"
    assert POST_SENDINGS not in sandbox.stats() and _server_sendings(sandbox_url, fresh_token) == []


def test_balance_spent_between_quote_and_confirm_fails_cleanly(make_client, sandbox, sandbox_url, fresh_token):
    app = _filled_sender(make_client(fresh_token))
    app.quote()
    app.request_send()
    sandbox.set_balance(fresh_token, "0.0001")
    sandbox.reset_stats()
    assert app.confirm() is None
    assert app.state == "failed" and "InsufficientBalanceError" in app.result_label.value
    assert POST_SENDINGS not in sandbox.stats() and _server_sendings(sandbox_url, fresh_token) == []


def test_an_edit_after_the_quote_requires_a_new_quote(make_client, sandbox, sandbox_url, fresh_token):
    app = _filled_sender(make_client(fresh_token))
    app.quote()
    app.request_send()
    app.message_input.value = "A different text"
    assert app.state == "idle" and app.send_button.disabled and app.confirm_panel.layout.display == "none"
    assert app.confirm() is None and _server_sendings(sandbox_url, fresh_token) == []
    app.quote()
    app.request_send()
    app.cancel_button.click()
    assert app.state == "quoted" and _server_sendings(sandbox_url, fresh_token) == []


@pytest.mark.parametrize("field, value, error, text", [
    ("recipients_input", "37120000001\n12ab", sa.errors.InvalidRecipientsError, "12ab"),
    ("schedule_input", datetime(2001, 1, 1), sa.ValidationError, "in the past"),
    ("message_input", "", sa.ValidationError, "message"),
])
def test_refusals_are_shown_with_their_class_and_nothing_is_posted(make_client, sandbox, fresh_token,
                                                                 field, value, error, text):
    app = _filled_sender(make_client(fresh_token))
    getattr(app, field).value = value
    sandbox.reset_stats()
    app.quote()
    assert app.state == "error" and isinstance(app.result, error)
    assert type(app.result).__name__ in app.summary.value and text in app.summary.value
    assert POST_SENDINGS not in sandbox.stats()


def _texts(app) -> str:
    """Everything the app shows in words: HTML, labels, button captions, placeholders, tooltips."""
    out, todo = [], [app.widget]
    while todo:
        widget = todo.pop()
        todo.extend(getattr(widget, "children", ()))
        for attr in ("value", "description", "placeholder", "tooltip"):
            value = getattr(widget, attr, None)
            if isinstance(value, str):
                out.append(value)
    return "\n".join(out)


# What an analyst cannot act on from an app: a Python argument, a call, an error class used as advice.
PYTHON_WORDS = ("allow_duplicate", "confirm=True", "=True", "client.", "run(", "send(")


def test_after_a_send_the_app_shows_the_new_balance(make_client, sandbox_url, fresh_token):
    client = make_client(fresh_token)
    app = _filled_sender(client)
    app.quote()
    app.request_send()
    result = app.confirm()
    now = client.balance()
    assert now.amount < Decimal("450")  # the sandbox debited the send
    assert app.balance == now.amount
    assert f"balance now <b>{now.amount} GBP</b>" in app.result_label.value
    assert "balance 450.000" not in app.summary.value and f"balance {now.amount} GBP" in app.summary.value
    assert app.preview.total == result.total


def test_a_duplicate_offers_send_again_anyway_behind_its_own_confirmation(make_client, sandbox, sandbox_url,
                                                                         fresh_token):
    client = make_client(fresh_token)
    app = _filled_sender(client)
    app.quote()
    app.request_send()
    first = app.confirm()
    app.quote()  # the same campaign again: refused, and the refusal says what to do in the app
    assert app.state == "duplicate" and isinstance(app.result, sa.DuplicateSendError)
    shown = _texts(app)
    assert f"sending {first.sending_id}" in app.summary.value and "already sent" in app.summary.value.lower()
    assert not [w for w in PYTHON_WORDS if w in shown], shown
    assert app.send_button.disabled and app.again_button.layout.display != "none" and not app.again_button.disabled
    assert app.again_panel.layout.display == "none"

    sandbox.reset_stats()
    app.again_button.click()
    assert app.state == "confirming-again" and app.again_panel.layout.display != "none"
    assert app.confirm_panel.layout.display == "none"  # not the ordinary confirmation
    text = app.again_text.value
    assert f"{first.total} GBP" in text and f"sending {first.sending_id}" in text and "twice" in text
    app.again_cancel_button.click()
    assert app.state == "duplicate" and POST_SENDINGS not in sandbox.stats()

    app.again_button.click()
    app.again_confirm_button.click()
    app.again_confirm_button.click()  # a double click still sends once
    assert app.state == "sent" and sandbox.stats().get(POST_SENDINGS) == 1
    sendings = _server_sendings(sandbox_url, fresh_token)
    assert len(sendings) == 2 and {s["text"] for s in sendings} == {"Flash sale today only"}
    assert app.result.sending_id == max(s["id"] for s in sendings)
    # debited exactly what both confirmations said (the API shows balances rounded down to 3 decimals)
    left = (Decimal("450") - 2 * first.total).quantize(Decimal("0.001"), rounding=ROUND_FLOOR)
    assert client.balance().amount == left and app.balance == left
    assert not [w for w in PYTHON_WORDS if w in _texts(app)]


def test_a_send_whose_outcome_is_unknown_is_never_offered_again(make_client, sandbox, sandbox_url, fresh_token):
    app = _filled_sender(make_client(fresh_token, timeout=2.0))
    app.quote()
    app.request_send()
    sandbox.inject("drop_after", path=spec.SENDINGS, method="POST", exact=True)  # committed, answer cut mid-body
    assert app.confirm() is None
    assert app.state == "failed" and isinstance(app.result, sa.UnknownOutcomeError)
    assert "may have gone out" in app.result_label.value
    app.quote()
    assert app.state == "error" and isinstance(app.result, sa.DuplicateSendError)
    assert app.again_button.layout.display == "none" and "not known" in app.summary.value
    assert app.send_again() is None and app.state == "error"
    assert not [w for w in PYTHON_WORDS if w in _texts(app)]
    assert len(_server_sendings(sandbox_url, fresh_token)) == 1  # the lost answer's sending, once


def test_a_wrong_token_is_shown_not_raised(make_client):
    client = make_client("no-such-token")
    sender = sa.SenderApp(client)
    assert sender.state == "error" and isinstance(sender.result, sa.AuthenticationError)
    assert "AuthenticationError" in sender.summary.value and sender.sender_input.options == spec.DEFAULT_SENDERS
    dashboard = sa.DashboardApp(client)
    assert isinstance(dashboard.error, sa.AuthenticationError) and "AuthenticationError" in dashboard.summary.value
    estimator = sa.EstimatorApp(client, numbers=phone_numbers(2, seed=40), message="Hi")
    assert isinstance(estimator.error, sa.AuthenticationError) and estimator.mode is None
    assert "no-such-token" not in sender.summary.value + dashboard.summary.value + estimator.status.value


# --- dashboard -------------------------------------------------------------------------------------


def test_dashboard_of_an_empty_account(make_client, fresh_token):
    app = sa.DashboardApp(make_client(fresh_token))
    assert app.error is None and app.table.empty
    assert "No sendings yet" in app.table_view.value and "450.000 GBP" in app.summary.value
    assert _traces(app.status_chart) == []


def test_dashboard_refresh_shows_sendings_costs_and_charts(make_client, sandbox_url, fresh_token):
    client = make_client(fresh_token)
    first = client.send("Dashboard one", phone_numbers(4, seed=31), "MegaShop", confirm=True)
    second = client.send(LONG, phone_numbers(2, seed=32), "MEGA", confirm=True)
    before = {s["id"]: s["status"] for s in _server_sendings(sandbox_url, fresh_token)}
    app = sa.DashboardApp(client)
    after = {s["id"]: s["status"] for s in _server_sendings(sandbox_url, fresh_token)}
    table = app.table
    assert table["id"].tolist() == sorted([first.sending_id, second.sending_id], reverse=True)
    costs = dict(zip(table["id"], table["cost"]))
    assert costs == {first.sending_id: first.total, second.sending_id: second.total}
    # Statuses follow the sandbox clock (a send "now" turns Processing at its scheduled second):
    # the table shows what the server said between the two reads around it.
    shown = dict(zip(table["id"], table["status"].astype(str)))
    assert set(shown) == set(before) and all(shown[i] in (before[i], after[i]) for i in shown), (shown, before, after)

    status_traces = _traces(app.status_chart)
    assert sum(sum(t["y"]) for t in status_traces) == 2
    spend = {t["name"]: t for t in _traces(app.spend_chart)}
    assert Decimal(spend["Cumulative spend"]["customdata"][-1]) == first.total + second.total
    assert "Balance" in spend
    assert _traces(app.country_chart)[0]["type"] == "bar"

    third = client.send("Dashboard three", phone_numbers(1, seed=33), "MegaShop", confirm=True)
    app.refresh_button.click()
    assert app.table["id"].iloc[0] == third.sending_id and len(app.table) == 3
    assert sum(sum(t["y"]) for t in _traces(app.status_chart)) == 3


def test_dashboard_lists_sendings_the_ledger_never_saw_without_a_cost(make_client, sandbox_url, fresh_token):
    client = make_client(fresh_token)
    payload = {"message": "sent elsewhere", "recipients": ["37120000001"], "sender": "MEGA"}
    requests.post(f"{sandbox_url}{spec.SENDINGS}", json=payload, timeout=10,
                  headers={"Authorization": f"Bearer {fresh_token}"}).raise_for_status()
    app = sa.DashboardApp(client)
    assert app.table["cost"].tolist() == [None]
    assert "not in the local ledger" in app.summary.value
