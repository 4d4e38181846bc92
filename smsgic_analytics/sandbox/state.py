"""Everything one running sandbox holds: store, rate card, clock, throttle and faults."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..core import spec
from .faults import FaultQueue
from .lifecycle import Clock
from .ratecard import RateCard
from .store import Store
from .throttle import Throttle

CLOCK_KEY = "clock"


@dataclass
class SandboxState:
    store: Store
    card: RateCard
    clock: Clock
    seed: int
    throttle: Throttle
    faults: FaultQueue = field(default_factory=FaultQueue)

    def save_clock(self) -> None:
        """Persist the clock so a restart on the same db resumes it."""
        self.store.set_meta(CLOCK_KEY, self.clock.state())


def open_state(db: str | Path, tokens: Iterable[str] = (spec.DEMO_TOKEN,), seed: int = 0,
               clock: str | None = None, calculate_per_minute: int = spec.CALCULATE_PER_MINUTE) -> SandboxState:
    """Open (or create) the sandbox at ``db``.

    ``clock``: None resumes the clock saved in the db (wall time for a new db); "real"
    follows wall time; an ISO-8601 instant starts a frozen clock there.  Every token gets
    an account (450.000 GBP, the demo senders) unless the db already has it.
    """
    store = Store(db)
    for token in tokens:
        store.add_account(token, reset_balance=False)
    if clock is None:
        saved = store.get_meta(CLOCK_KEY)
        the_clock = Clock.from_state(saved) if saved else Clock.real()
    elif clock == "real":
        the_clock = Clock.real()
    else:
        the_clock = Clock.frozen(clock)
    state = SandboxState(store, RateCard.for_seed(seed), the_clock, seed, Throttle(calculate_per_minute))
    state.save_clock()
    return state
