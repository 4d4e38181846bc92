"""Every result an analyst looks at shows as the one summary card in a notebook and as plain text
in a console: quote, estimate, balance, plan and its preview, send result, audit, copy comparison,
encoding advice.  Built for real against the sandbox (fresh account, real sends)."""
from __future__ import annotations

import re

import pandas as pd

import smsgic_analytics as sa

# What ``core.display.card`` draws, and only it: a bold title, then the label/value table.
CARD = re.compile(r"^<div><b>[^<]+</b>.*?<table><tr><th style='text-align:left'>", re.S)


def results(make_client, fresh_token) -> dict[str, object]:
    client = make_client(fresh_token)
    numbers = ["447400123456", "4915123456789", "37120000001"]
    rates = client.rates()
    audience = pd.DataFrame({"phone": numbers + ["447400123456"], "first_name": ["Ann", "Bo", "Zo\u00eb", "Ann"]})
    campaign = client.campaign("Sale today", numbers, "MEGA", progress=False)
    preview = campaign.preview()
    sent = campaign.run(confirm=True, confirmed=preview)
    return {
        "quote": client.calculate("Sale today", numbers, progress=False),
        "estimate": sa.estimate(numbers, "Sale today", rates=rates),
        "balance": client.balance(),
        "plan": campaign.plan,
        "preview": preview,
        "send": sent,
        "audit": sa.audit(audience, rates=rates, message="Hi {first_name}", history=client.spend()),
        "copies": sa.compare_copies(audience.iloc[:3], ["Hi {first_name}", "It\u2019s on"], rates=rates),
        "advice": sa.advise("It\u2019s on"),
    }


def test_every_result_has_the_one_card_and_a_plain_repr(make_client, fresh_token):
    for name, result in results(make_client, fresh_token).items():
        page = result._repr_html_()
        assert CARD.match(page), f"{name}: not the shared card: {page[:120]}"
        text = repr(result)
        assert "<div" not in text and "<table" not in text and text.strip(), name
        assert fresh_token not in page and fresh_token not in text, name


def test_cards_say_what_matters(make_client, fresh_token):
    shown = {name: r._repr_html_() for name, r in results(make_client, fresh_token).items()}
    assert "Balance" in shown["balance"] and "GBP" in shown["balance"]
    assert "Send preview" in shown["preview"] and "MEGA" in shown["preview"] and "Total" in shown["preview"]
    assert "Plan" in shown["plan"] and "Sale today" in shown["plan"]
    assert "Send" in shown["send"] and "created" in shown["send"]
    assert "duplicate" in shown["audit"]
    assert "U+2019" in shown["advice"] and "U+2019" in shown["copies"]
