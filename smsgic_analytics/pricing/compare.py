"""Reconciliation: where an offline estimate and the API's quote disagree.

Numbers are joined on the normalised number (both sides normalise as the client does).  Per
number, ``status`` is one of:

* ``match``          the offline expected cost equals the quote's total
* ``within range``   it differs, but the quote's total is inside the offline [low, high]
* ``outside range``  the quote's total is outside [low, high]: the rates table is wrong or old
* ``unplaced``       the estimate could not place the number; the quote priced it
* ``only offline`` / ``only quote``   the number is on one side only

Groups (country, operator) use the offline estimate's names where it has the number (they
come from the same numbering data for every number) and the quote's otherwise.  In group
sums an unplaced number counts 0 offline, so its whole quote total shows in ``difference``;
a group agrees only when every one of its numbers matches.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Literal

import numpy as np
import pandas as pd

from .offline import UNPLACED, OfflineEstimate
from .quote import Quote

MATCH, WITHIN, OUTSIDE = "match", "within range", "outside range"
STATUSES = (MATCH, WITHIN, OUTSIDE, UNPLACED, "only offline", "only quote")
STATUS_DTYPE = pd.CategoricalDtype(STATUSES)
NUMBER_COLUMNS = ["number", "country", "operator", "basis", "sms_offline", "sms_quote", "low", "expected", "high",
                  "quote_total", "difference", "within", "status"]
GROUP_COLUMNS = ["numbers", "offline_low", "offline_expected", "offline_high", "quote_total", "difference",
                 "within", "mismatched", "agrees"]


def compare(offline: OfflineEstimate, quote: Quote, by: Literal["operator", "country", "number"] = "operator",
            only_mismatches: bool = True) -> pd.DataFrame:
    """Where ``offline`` and ``quote`` disagree.

    ``by="operator"`` / ``"country"``: one row per group [country, (operator,) numbers,
    offline_low, offline_expected, offline_high, quote_total, difference (quote - offline
    expected), within (low <= quote_total <= high), mismatched (numbers whose status is not
    "match"), agrees], disagreements first, biggest difference first.
    ``by="number"``: one row per number [number, country, operator, basis, sms_offline,
    sms_quote, low, expected, high, quote_total, difference, within, status]; only the
    mismatches unless ``only_mismatches=False``.  Money is exact Decimal.

    >>> sa.compare(sa.estimate(numbers, text, rates=rates), client.calculate(text, numbers))  # doctest: +SKIP
    """
    if not isinstance(offline, OfflineEstimate):
        raise TypeError(f"compare(offline, quote): offline must be an OfflineEstimate, got {type(offline).__name__}")
    if not isinstance(quote, Quote):
        raise TypeError(f"compare(offline, quote): quote must be a Quote, got {type(quote).__name__}")
    if offline.currency and quote.currency and offline.currency != quote.currency:
        raise ValueError(f"compare(): the estimate is in {offline.currency} but the quote in {quote.currency}")
    if by not in ("operator", "country", "number"):
        raise ValueError(f"compare(by=...) must be 'operator', 'country' or 'number', not {by!r}")
    per_number = _per_number(offline, quote)
    if by == "number":
        rows = per_number[per_number["status"] != MATCH] if only_mismatches else per_number
        return rows.reset_index(drop=True)
    return _groups(per_number, ["country"] if by == "country" else ["country", "operator"])


def _text(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), None)


def _per_number(offline: OfflineEstimate, quote: Quote) -> pd.DataFrame:
    left = pd.DataFrame({
        "number": offline.rows["number"].astype(object),
        "o_country": _text(offline.rows["country"]), "o_operator": _text(offline.rows["operator"]),
        "basis": offline.rows["basis"], "sms_offline": offline.rows["sms"],
        "low": offline.rows["low"], "expected": offline.rows["expected"], "high": offline.rows["high"],
    })
    right = pd.DataFrame({
        "number": quote.numbers["number"].astype(object),
        "q_country": _text(quote.numbers["country"]), "q_operator": _text(quote.numbers["operator"]),
        "sms_quote": quote.numbers["sms"], "quote_total": quote.numbers["total"],
    })
    both = left.merge(right, on="number", how="outer", indicator=True, sort=False)
    in_offline, in_quote = both["_merge"] != "right_only", both["_merge"] != "left_only"
    both["country"] = both["o_country"].where(in_offline, both["q_country"])
    both["operator"] = both["o_operator"].where(in_offline, both["q_operator"])
    expected, total, low, high = (both[c].tolist() for c in ("expected", "quote_total", "low", "high"))
    has = [e is not None and not _missing(e) and t is not None and not _missing(t) for e, t in zip(expected, total)]
    both["difference"] = pd.Series([t - e if ok else None for ok, e, t in zip(has, expected, total)], dtype=object)
    both["within"] = pd.Series([bool(lo <= t <= hi) if ok else False for ok, lo, t, hi in zip(has, low, total, high)],
                               dtype=bool)
    status = np.where(~in_quote, "only offline", np.where(~in_offline, "only quote", ""))
    unplaced = (both["basis"] == UNPLACED).fillna(False).to_numpy(bool) & in_quote.to_numpy() & in_offline.to_numpy()
    status = np.where(unplaced, UNPLACED, status)
    diff_zero = np.array([ok and d == 0 for ok, d in zip(has, both["difference"].tolist())], dtype=bool)
    status = np.where(status != "", status, np.where(diff_zero, MATCH, np.where(both["within"], WITHIN, OUTSIDE)))
    both["status"] = pd.Categorical(status, dtype=STATUS_DTYPE)
    for column in ("sms_offline", "sms_quote"):
        both[column] = both[column].astype("Int64")
    for column in ("country", "operator"):
        both[column] = both[column].astype("string")
    both["number"] = both["number"].astype("string")
    return both[NUMBER_COLUMNS]


def _missing(value: object) -> bool:
    return value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _sum(values: pd.Series) -> Decimal:
    return sum((v for v in values.tolist() if isinstance(v, Decimal)), Decimal(0))


def _groups(per_number: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    rows = []
    for key, group in per_number.groupby(keys, dropna=False, sort=False, observed=True):
        low, expected, high, total = (_sum(group[c]) for c in ("low", "expected", "high", "quote_total"))
        mismatched = int((group["status"] != MATCH).sum())
        complete = bool(group["status"].isin([MATCH, WITHIN, OUTSIDE]).all())
        within = complete and low <= total <= high
        rows.append((*(key if isinstance(key, tuple) else (key,)), len(group), low, expected, high, total,
                     total - expected, within, mismatched, mismatched == 0))
    out = pd.DataFrame(rows, columns=keys + GROUP_COLUMNS)
    for column in ("offline_low", "offline_expected", "offline_high", "quote_total", "difference"):
        out[column] = out[column].astype(object)
    for column in keys:
        out[column] = out[column].astype("string")
    out["_size"] = out["difference"].map(lambda d: abs(float(d)))
    out = out.sort_values(["agrees", "_size"] + keys, ascending=[True, False] + [True] * len(keys), na_position="last")
    return out.drop(columns="_size").reset_index(drop=True)
