"""Everything one running sandbox holds: store, rate card, clock, throttle and faults."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable, Mapping

from ..core import spec
from .faults import FaultQueue
from .lifecycle import Clock
from .ratecard import RateCard, RateKey
from .store import Store
from .throttle import Throttle

CLOCK_KEY = "clock"
RATES_KEY = "rates"

log = logging.getLogger(__name__)


@dataclass
class SandboxState:
    """``card`` is the card in force: the seed's card, or a changed copy of it (the rates
    control).  Handlers read ``state.card`` once per request, so each answer is priced on one
    card; a change replaces the whole object, never a row in place."""

    store: Store
    card: RateCard
    clock: Clock
    seed: int
    throttle: Throttle
    faults: FaultQueue = field(default_factory=FaultQueue)
    _rates_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def save_clock(self) -> None:
        """Persist the clock so a restart on the same db resumes it."""
        self.store.set_meta(CLOCK_KEY, self.clock.state())

    def change_rates(self, plan: Callable[[RateCard], Mapping[RateKey, Decimal]] | None
                     ) -> tuple[RateCard, Mapping[RateKey, Decimal]]:
        """Put in force the rates ``plan(card in force)`` returns ({row key: rate}; it may
        raise ``Invalid``), or the seed's card again when ``plan`` is None.  Saved in the db
        before it is in force, so a restart on it prices the same.  Returns (card, changes)."""
        with self._rates_lock:  # planned and applied as one step: two changes at once never lose one
            base = RateCard.for_seed(self.seed)
            changes = {} if plan is None else plan(self.card)
            card = base if plan is None else self.card.with_rates(changes)
            saved = card.changes_from(base)
            self.store.set_meta(RATES_KEY, {"seed": self.seed, "rates": [
                [region, mcc, mnc, str(rate)] for (region, mcc, mnc), rate in saved.items()]})
            self.card = card
            return card, changes


def _saved_card(store: Store, seed: int) -> RateCard:
    """The seed's card with the rate changes saved in the db (made for the same seed)."""
    base = RateCard.for_seed(seed)
    saved = store.get_meta(RATES_KEY)
    if not saved or not saved.get("rates"):
        return base
    if saved.get("seed") != seed:
        log.warning("the db holds rate changes made for seed %s; serving seed %s's card as it is",
                    saved.get("seed"), seed)
        return base
    return base.with_rates({(region, mcc, mnc): Decimal(rate) for region, mcc, mnc, rate in saved["rates"]})


def open_state(db: str | Path, tokens: Iterable[str] = (spec.DEMO_TOKEN,), seed: int = 0,
               clock: str | None = None, calculate_per_minute: int = spec.CALCULATE_PER_MINUTE,
               clock_offset: float | None = None) -> SandboxState:
    """Open (or create) the sandbox at ``db``.

    ``clock``: None resumes the clock saved in the db (wall time for a new db); "real"
    follows wall time; an ISO-8601 instant starts a frozen clock there.  ``clock_offset``
    (seconds, with ``clock`` None or "real"): a real clock running that far ahead of wall
    time (behind when negative).  Every token gets an account (450.000 GBP, the demo
    senders) unless the db already has it.  Rate changes saved in the db are in force.
    """
    if clock_offset is not None and clock not in (None, "real"):
        raise ValueError("clock_offset needs a real clock (clock None or 'real')")
    store = Store(db)
    for token in tokens:
        store.add_account(token, reset_balance=False)
    if clock_offset is not None:
        the_clock = Clock.real(clock_offset)
    elif clock is None:
        saved = store.get_meta(CLOCK_KEY)
        the_clock = Clock.from_state(saved) if saved else Clock.real()
    elif clock == "real":
        the_clock = Clock.real()
    else:
        the_clock = Clock.frozen(clock)
    state = SandboxState(store, _saved_card(store, seed), the_clock, seed, Throttle(calculate_per_minute))
    state.save_clock()
    return state
