"""CopyLab against the sandbox: each variant's total equals what POST /sendings/calculate answers
for it (read here from the raw HTTP answer, Decimal), to the last digit; the rewrite goes into a
real SenderApp; the chart is a plotly Figure in the app, never shown on its own; the estimator
shows the audience audit before any send."""
from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import plotly.graph_objects as go
import requests

import smsgic_analytics as sa
from smsgic_analytics.numbers.samples import sample_numbers

CURLY = "\u2019"
NAMES = ["Ann", "Zo\u00eb", "Bob", "x" * 150, "\u0141ukasz", "O'Brien"]
VARIANTS = [f"Hi {{first_name}}, it{CURLY}s on \u2013 20% off today!", "Sale today", "a" * 161,
            f"It{CURLY}s our biggest sale\u2026 " + "b" * 60]


def audience(n: int = 60) -> pd.DataFrame:
    numbers = sample_numbers(n, seed=21)
    return pd.DataFrame({"phone": numbers, "first_name": [NAMES[i % len(NAMES)] for i in range(n)]})


def calculate_total(url: str, token: str, texts: pd.Series, numbers: pd.Series) -> tuple[Decimal, int]:
    """The API's total and SMS count for sending each row its own text: one call per distinct text."""
    total, sms = Decimal(0), 0
    for text, rows in numbers.groupby(texts.to_numpy(), sort=False):
        answer = requests.post(url + "/sendings/calculate", json={"message": text, "recipients": list(rows)},
                               headers={"Authorization": f"Bearer {token}"}, timeout=60)
        answer.raise_for_status()
        info = json.loads(answer.text, parse_float=Decimal)["calculate"]["info"]
        total += Decimal(info["total"])
        sms += int(info["sms_count"])
    return total, sms


def filled(variant: str, frame: pd.DataFrame) -> pd.Series:
    return frame["first_name"].map(lambda name: variant.replace("{first_name}", name))


def test_each_variant_and_its_rewrite_cost_what_calculate_answers(make_client, sandbox_url, fresh_token):
    people = audience()
    lab = sa.CopyLab(people, VARIANTS, client=make_client(fresh_token))
    got = lab.comparison
    assert got.attrs["basis"] == "quote" and got["variant"].tolist() == VARIANTS
    for row in got.to_dict("records"):
        want_total, want_sms = calculate_total(sandbox_url, fresh_token, filled(row["variant"], people), people["phone"])
        assert (row["cost"], row["sms"]) == (want_total, want_sms), row["variant"]
        if row["rewrite"] is not None:
            again = calculate_total(sandbox_url, fresh_token, filled(row["rewrite"], people), people["phone"])
            assert (row["rewrite_cost"], row["rewrite_sms"]) == again
            assert row["rewrite_saves"] == want_total - again[0]
    costs = got["cost"].tolist()
    assert got["cheapest"].tolist() == [c == min(costs) for c in costs]
    assert got.loc[3, "rewrite_saves"] > 0  # the ellipsis and the apostrophe cost a part per person


def test_apply_rewrite_puts_the_text_in_the_sender_and_the_lab(make_client, fresh_token):
    client = make_client(fresh_token)
    sender = sa.SenderApp(client)
    lab = sa.CopyLab(audience(12), VARIANTS[1:], client=client, sender=sender)
    rewrite = lab.comparison["rewrite"][2]
    assert rewrite == "It's our biggest sale... " + "b" * 60
    assert lab.apply_rewrite(2) == rewrite
    assert sender.message_input.value == rewrite and sender.state == "idle"
    assert lab.variants[2] == rewrite and lab.comparison["encoding"][2] == "GSM-7"
    assert lab.comparison["rewrite"][2] is None
    buttons = [d.children[1] for d in lab.details.children]
    assert [b.disabled for b in buttons] == [True, True, True]  # nothing left to rewrite
    assert "in the sender" in lab.status.value


def test_the_chart_is_a_figure_in_the_app_and_the_culprits_are_marked_in_place(make_client, fresh_token):
    lab = sa.CopyLab(audience(12), VARIANTS[:2], client=make_client(fresh_token))
    assert isinstance(lab.figure, go.Figure) and [t.name for t in lab.figure.data] == ["As written", "Smart-encoded"]
    assert len(lab.chart.outputs) == 1 and "application/vnd.plotly.v1+json" in lab.chart.outputs[0]["data"]
    detail = lab.details.children[0].children[0].value
    assert "U+2019 forces UCS-2" in detail and "U+2013 forces UCS-2" in detail
    assert "part 2 starts here" in detail  # the longest personalised text runs into a second part
    assert "U+00EB" in detail and "U+0141" in detail  # brought by the merge field


def test_bad_variants_are_shown_not_raised(make_client, fresh_token):
    lab = sa.CopyLab(audience(6), ["Hi {surname}"], client=make_client(fresh_token))
    assert lab.comparison is None and "surname" in lab.status.value and lab.error is not None


def test_the_estimator_shows_the_audit_before_any_send(make_client, fresh_token):
    client = make_client(fresh_token)
    numbers = sample_numbers(8, seed=3)
    app = sa.EstimatorApp(client, numbers=numbers + [numbers[0]], message="Hello")
    card = app.audit_view.value
    assert "Audience audit" in card and "duplicate" in card
    assert "new country" not in card  # nothing sent yet: no history to compare with
    client.send("Hello", numbers[:1], "MEGA", confirm=True)
    sent_to = sa.classify(numbers[:1])["country"].astype(str)[0]
    app.set_numbers(numbers)
    card = app.audit_view.value
    assert "new country" in card and f"{sent_to}: this account never" not in card
