"""Price one message to many recipients: the body of POST /sendings/calculate.

Per number: ``sms`` = segments of the message; ``rate`` = the operator row of its MCC/MNC
when the card has one (destination "Country Operator"), else its country's default row
(destination "Country " with the trailing space the documentation shows), else the card's
highest rate (destination "Unknown ").  Destinations group numbers by (destination, rate),
in order of first appearance; duplicates are priced every time they appear.

Money is integer ten-thousandths until it is rendered, so every sum is exact.  The work is
vectorised over distinct (region, operator, MCC, MNC) classes: 100,000 numbers cost a few
hundred Python-level lookups plus one string join.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from ..numbers.classify import classify
from ..text.segments import segments
from .jsonwire import Raw, encode_str, number
from .ratecard import UNKNOWN_DESTINATION, RateCard
from .store import UNITS

_CLASS_COLUMNS = ["region", "country", "operator", "mcc", "mnc"]


@dataclass(frozen=True)
class Quote:
    sms_per_number: int
    sms_count: int
    subtotal_units: int
    body: dict  # the documented {"calculate": {...}} payload, ready for jsonwire.dumps

    @property
    def total_units(self) -> int:
        return self.subtotal_units  # tax is 0 in the sandbox


def _units(rate: Decimal) -> int:
    return int(rate * UNITS)


def _money(units: int) -> Decimal:
    return Decimal(units) / UNITS


def _price_classes(card: RateCard, classes: pd.DataFrame) -> tuple[list[str], list[int]]:
    """(destination, rate units) for each distinct class row."""
    destinations, rates = [], []
    for region, country, operator, mcc, mnc in classes.itertuples(index=False):
        row = card.by_mcc_mnc.get((mcc, mnc)) if isinstance(mnc, str) and isinstance(mcc, str) else None
        default = card.default_by_region.get(region) if isinstance(region, str) else None
        if row is not None and isinstance(operator, str) and default is not None:
            destinations.append(f"{default.country} {operator}")
            rates.append(_units(row.rate))
        elif default is not None:
            destinations.append(f"{default.country} ")
            rates.append(_units(default.rate))
        else:
            destinations.append(UNKNOWN_DESTINATION)
            rates.append(_units(card.max_rate))
    return destinations, rates


def calculate(card: RateCard, message: str, recipients: list[str]) -> Quote:
    """Price ``message`` to ``recipients`` (digit strings, already validated)."""
    sms = segments(message).segments
    placed = classify(recipients).reset_index(drop=True)
    class_codes, classes = _factorize_classes(placed)
    dest_of_class, rate_of_class = _price_classes(card, classes)
    # One destination group per (destination, rate), numbered by first appearance.
    group_of_pair: dict[tuple[str, int], int] = {}
    group_of_class = np.array(
        [group_of_pair.setdefault(pair, len(group_of_pair)) for pair in zip(dest_of_class, rate_of_class)],
        dtype=np.int64,
    )
    row_group = group_of_class[class_codes]
    first_seen = np.full(len(group_of_pair), len(row_group), dtype=np.int64)
    np.minimum.at(first_seen, row_group, np.arange(len(row_group)))
    order = np.argsort(first_seen, kind="stable")  # groups in order of first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    row_rank = rank[row_group]
    positions = np.argsort(row_rank, kind="stable")
    counts = np.bincount(row_rank, minlength=len(order))
    phone = np.array([r.lstrip("0") or "0" for r in recipients], dtype=object)

    pairs = list(group_of_pair)
    destinations_json: list[dict] = []
    sms_count = subtotal = 0
    start = 0
    for rank_index, group in enumerate(order):
        destination, rate_units = pairs[group]
        count = int(counts[rank_index])
        idx = positions[start : start + count]
        start += count
        total_each = rate_units * sms
        rest = (f',"destination":{encode_str(destination)},"sms":{sms},'
                f'"rate":{number(_money(rate_units))},"total":{number(_money(total_each))}}}')
        numbers = Raw("[" + ",".join(['{"phone_number":' + p + rest for p in phone[idx]]) + "]")
        group_sms, group_total = sms * count, total_each * count
        sms_count += group_sms
        subtotal += group_total
        destinations_json.append({
            "numbers": numbers,
            "destination": destination,
            "sms_count": group_sms,
            "price": _money(rate_units),
            "total": _money(group_total),
        })
    info = {"sms_count": sms_count, "subtotal": _money(subtotal), "total": _money(subtotal), "tax": Decimal(0)}
    body = {"calculate": {"info": info, "destinations": destinations_json}}
    return Quote(sms, sms_count, subtotal, body)


def _factorize_classes(placed: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Code per row and the distinct (region, country, operator, mcc, mnc) classes."""
    keys = placed[_CLASS_COLUMNS].astype(object)
    keys = keys.where(keys.notna(), None)
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
    classes = pd.DataFrame(list(uniques), columns=_CLASS_COLUMNS) if len(uniques) else pd.DataFrame(columns=_CLASS_COLUMNS)
    return np.asarray(codes, dtype=np.int64), classes
