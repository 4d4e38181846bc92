"""Costly mistakes to name before a send: many parts, numbers no country owns, an unusual price or size.

``campaign_risks`` looks at a priced campaign (the message, its recipients, the quote's SMS
count and total) and this account's past sends (``send_history``: the ledger's sends that went
out, with their quote's SMS count and total) and returns one ``Risk`` per thing a person should
look at before spending the money.  The apps make each one a checkbox Send waits for.

Thresholds (why these): a message over ``MANY_PARTS`` parts costs that many SMS per recipient,
usually an accident (a pasted document); a cost per SMS over ``PRICE_FACTOR`` times the
account's median is a different destination mix than usual; a send over ``SIZE_FACTOR`` times
the largest of the last ``RECENT`` sends is a different audience than usual.

>>> [r.key for r in campaign_risks("x" * 2000, ["99912345678"], sms_count=14, total=None)]
['parts', 'unplaceable']
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

import pandas as pd

from ..core.money import format_money
from ..numbers.classify import classify
from ..text.segments import segments
from .state import SPENT_STATES

MANY_PARTS = 3
PRICE_FACTOR = 3
SIZE_FACTOR = 5
RECENT = 10
SAMPLE = 3


@dataclass(frozen=True)
class Risk:
    """One thing to acknowledge: ``key`` (parts, unplaceable, price, size) and ``text`` in words."""

    key: str
    text: str


def send_history(ledger: object, account: str) -> pd.DataFrame:
    """The account's sends that went out, oldest first: DataFrame[sms_count, total (Decimal)]."""
    sends = ledger.sends(account)  # type: ignore[attr-defined]
    sends = sends[sends["state"].isin(SPENT_STATES) & sends["quote_id"].notna()]
    quotes = ledger.quotes(account)[["id", "sms_count", "total"]]  # type: ignore[attr-defined]
    merged = sends[["quote_id"]].astype("int64").merge(quotes, left_on="quote_id", right_on="id", how="inner")
    return merged[["sms_count", "total"]].reset_index(drop=True)


def unplaceable(numbers: Sequence[str]) -> list[str]:
    """The normalised numbers no country's numbering plan owns (``+999…``, ``+800…``)."""
    if not len(numbers):
        return []
    placed = classify(list(numbers), normalized=True)
    return [n for n, region in zip(numbers, placed["region"].isna().tolist()) if region]


def campaign_risks(message: str, numbers: Sequence[str], *, sms_count: int | None, total: Decimal | None,
                   currency: str | None = None, history: pd.DataFrame | None = None) -> list[Risk]:
    """The risks of sending ``message`` to ``numbers`` (normalised digits) at this price; [] when none."""
    out: list[Risk] = []
    parts = segments(message).segments if message else 0
    if parts > MANY_PARTS:
        out.append(Risk("parts", f"The message is {parts} parts long: every recipient costs {parts} SMS, "
                                 f"{parts} times a one-part message."))
    lost = unplaceable(numbers)
    if lost:
        sample = ", ".join("+" + n for n in lost[:SAMPLE])
        out.append(Risk("unplaceable", f"{len(lost):,} number(s) belong to no country ({sample}"
                                       f"{', …' if len(lost) > SAMPLE else ''}): they are priced at a "
                                       "country default and may never arrive."))
    if history is not None and len(history) and sms_count:
        past = history[history["sms_count"] > 0]
        if total is not None and len(past):
            per_sms = sorted(Decimal(t) / int(s) for t, s in zip(past["total"], past["sms_count"]))
            usual = per_sms[len(per_sms) // 2]
            now = Decimal(total) / sms_count
            if usual > 0 and now > usual * PRICE_FACTOR:
                out.append(Risk("price", f"{format_money(now, currency)} per SMS is {now / usual:.1f} times "
                                         f"this account's usual {format_money(usual, currency)}."))
        largest = int(history["sms_count"].tail(RECENT).max())
        if largest > 0 and sms_count > largest * SIZE_FACTOR:
            out.append(Risk("size", f"{sms_count:,} SMS is {sms_count / largest:.0f} times the largest of the "
                                    f"last {min(RECENT, len(history))} send(s) ({largest:,} SMS)."))
    return out
