"""Everything one running sandbox holds: store, rate card, clock, throttle and faults."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..core import spec
from .admin_rules import rate_changes_from
from .faults import FaultQueue
from .lifecycle import Clock, parse_instant
from .ratecard import RateCard, RateKey
from .store import Store
from .throttle import Throttle
from .validation import Invalid

CLOCK_KEY = "clock"
RATES_KEY = "rates"
SCHEDULED_KEY = "rates_scheduled"  # dated price changes not yet in force: [[ISO instant, body], ...]

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
    # Dated price changes (the rates control with "at"), oldest first: each is put in force by the
    # first request that finds the sandbox clock at or past its instant (``card_now``).
    scheduled: list[tuple[datetime, dict[str, Any]]] = field(default_factory=list)
    _rates_lock: threading.Lock = field(default_factory=threading.RLock, repr=False)

    def card_now(self) -> RateCard:
        """The card in force at the sandbox clock's now: dated changes that came due are applied
        first, in their order, each exactly as the rates control would have applied it then."""
        if not self.scheduled or self.scheduled[0][0] > self.clock.now():
            return self.card
        with self._rates_lock:
            now = self.clock.now()
            while self.scheduled and self.scheduled[0][0] <= now:
                _, body = self.scheduled.pop(0)
                self._save_scheduled()
                try:
                    self.change_rates(lambda current, body=body: _plan(body, current))
                except ValueError:  # checked when scheduled; a row since reset away: skipped
                    log.warning("a dated price change could not be applied: %s", body)
            return self.card

    def schedule_rates(self, at: datetime, body: dict[str, Any]) -> None:
        """Keep a rates-control ``body`` to put in force when the clock reaches ``at``."""
        with self._rates_lock:
            self.scheduled.append((at, dict(body)))
            self.scheduled.sort(key=lambda item: item[0])
            self._save_scheduled()

    def clear_scheduled(self) -> None:
        with self._rates_lock:
            self.scheduled.clear()
            self._save_scheduled()

    def _save_scheduled(self) -> None:
        self.store.set_meta(SCHEDULED_KEY, {"seed": self.seed, "changes": [
            [at.isoformat(), body] for at, body in self.scheduled]})

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


def _plan(body: Mapping[str, Any], card: RateCard) -> Mapping[RateKey, Decimal]:
    try:
        return rate_changes_from(body, card)
    except Invalid as exc:  # the row is gone
        raise ValueError(str(exc.errors)) from None


def _saved_scheduled(store: Store, seed: int) -> list[tuple[datetime, dict[str, Any]]]:
    saved = store.get_meta(SCHEDULED_KEY)
    if not saved or saved.get("seed") != seed:
        return []
    return sorted(((parse_instant(at), dict(body)) for at, body in saved.get("changes", [])), key=lambda i: i[0])


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
    state = SandboxState(store, _saved_card(store, seed), the_clock, seed, Throttle(calculate_per_minute),
                         scheduled=_saved_scheduled(store, seed))
    state.save_clock()
    return state
