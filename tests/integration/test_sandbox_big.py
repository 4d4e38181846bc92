"""A 100,000-recipient calculate in one request: it works and its totals reconcile exactly."""
from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import pytest
import requests

from smsgic_analytics.core import spec

PREFIXES = ["4591", "3712", "4479", "1202", "7916", "6598", "3361", "9198", "2348", "5067", "8613", "99"]


@pytest.mark.slow
def test_calculate_100k_recipients_reconciles(sandbox_url):
    rng = random.Random(20240101)
    recipients = [rng.choice(PREFIXES) + str(rng.randrange(10**6, 10**7)) for _ in range(99_000)]
    recipients += recipients[:1_000]  # duplicates are priced each time
    message = "Summer sale: 20% off everything this weekend only, see shop for details. " * 5  # 365 GSM-7 chars: 3 parts of 153
    response = requests.post(sandbox_url + spec.CALCULATE, json={"message": message, "recipients": recipients},
                             headers={"Authorization": "Bearer demo-token"}, timeout=300)
    assert response.status_code == 200, response.text[:500]
    data = response.json(parse_float=Decimal)["calculate"]
    numbers = [n for d in data["destinations"] for n in d["numbers"]]
    assert len(numbers) == 100_000
    assert Counter(n["phone_number"] for n in numbers) == Counter(int(r) for r in recipients)
    assert {n["sms"] for n in numbers} == {3}
    info = data["info"]
    assert info["sms_count"] == 300_000 == sum(n["sms"] for n in numbers)
    assert sum(n["total"] for n in numbers) == info["subtotal"]
    assert sum(d["total"] for d in data["destinations"]) == info["subtotal"]
    assert info["total"] == info["subtotal"] + info["tax"]
    for d in data["destinations"]:
        assert {(n["destination"], n["rate"], n["total"]) for n in d["numbers"]} == {(d["destination"], d["price"], d["price"] * 3)}
        assert d["sms_count"] == 3 * len(d["numbers"])
    assert "Unknown " in {d["destination"] for d in data["destinations"]}  # the "99..." numbers
    assert len({d["destination"] for d in data["destinations"]}) >= 10
