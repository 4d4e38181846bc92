"""A seeded history of price changes, so notebooks and tests see real, repeatable changes.

``seeded_changes(card, seed, start)`` draws ``changes`` dated price changes, one every
``every_days`` days after ``start``: each a row of the card (of ``countries``, when given:
names or ISO-2 regions) moved by one of ``STEPS`` per cent, rounded half-even to 4 decimals
(at least 0.0001).  The same seed, start and card give the same changes.  They are scheduled
with the rates control's ``at`` and come into force as the sandbox clock passes each date.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN
from typing import Any, Iterable

from .ratecard import RATE_QUANTUM, RateCard

STEPS = (-15, -10, -6, -4, 5, 8, 12, 20)  # per cent


def seeded_changes(card: RateCard, seed: int, start: datetime, changes: int = 6, every_days: int = 7,
                   countries: Iterable[str] | None = None) -> list[tuple[datetime, dict[str, Any]]]:
    """[(instant, rates-control body)] for ``changes`` dated changes (see the module docstring)."""
    wanted = None if countries is None else {str(c).casefold() for c in countries}
    rows = [r for r in card.rows if wanted is None or r.country.casefold() in wanted or r.region.casefold() in wanted]
    if not rows:
        raise ValueError(f"no rate-card row of {sorted(wanted or [])}")
    rng = random.Random(f"smsgic-price-history-{seed}")
    rates = {r.key: r.rate for r in rows}
    out = []
    for i in range(changes):
        row = rows[rng.randrange(len(rows))]
        step = STEPS[rng.randrange(len(STEPS))]
        rate = max(RATE_QUANTUM, (rates[row.key] * (100 + step) / 100).quantize(RATE_QUANTUM, ROUND_HALF_EVEN))
        rates[row.key] = rate
        body = {"mcc": row.mcc, "mnc": row.mnc, "rate": str(rate), "country_id": row.country_id}
        out.append((start + timedelta(days=every_days * (i + 1)), body))
    return out
