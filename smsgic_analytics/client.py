"""``Client``: the facade an analyst uses -- endpoints, exact pricing, safe sending, spend.

A thin layer over the parts that do the work: ``Api`` (one call per endpoint, no side
effects), ``pricing.exact`` (chunked calculate), ``Campaign`` (safe sending), the ``Ledger``
(the SQLite store of quotes, sends and balance snapshots) and ``spend`` (analytics).  What the
facade adds: quotes and balances are recorded in the ledger, because /sendings carries no cost.

>>> import smsgic_analytics as sa
>>> client = sa.connect(token="demo-token", base_url="http://127.0.0.1:8765")   # doctest: +SKIP
>>> quote = client.calculate("Hello!", ["+44 7700 900123", "+371 2000 0001"])  # doctest: +SKIP
>>> quote.total, quote.currency                                                 # doctest: +SKIP
(Decimal('0.9'), 'GBP')
"""
from __future__ import annotations

import os
import warnings
from datetime import datetime, timedelta
from typing import Any, Callable, Literal

import pandas as pd

from .analytics.spend import check_freq, spend_frame
from .api.endpoints import Api
from .api.frames import Balance
from .api.http import CacheInfo, SMSgicSession
from .core import spec
from .core.config import Settings, legacy_account_key, spelled_account_key
from .core.dates import ServerClock
from .pricing import exact
from .pricing.history import RateHistory, changed_since, rates_at
from .pricing.history import remember as remember_history
from .pricing.quote import Quote
from .sending.budget import Budgets, BudgetStatus
from .sending.campaign import Campaign, SendResult
from .sending.ledger import Ledger
from .sending.reconcile import observe_server, reconcile, resolve_send

__all__ = ["Balance", "Client", "connect"]


def connect(token: str | None = None, base_url: str | None = None, cache_dir: str | os.PathLike[str] | None = None,
            *, clock: Callable[[], datetime] | None = None, **overrides: Any) -> "Client":
    """A client for one account.  Missing arguments come from SMSGIC_TOKEN, SMSGIC_BASE_URL,
    SMSGIC_CACHE_DIR; ``overrides`` set other ``Settings`` fields (timeout, max_retries, ...).
    ``clock`` (returning an aware datetime) times the ledger.  By default it is the server's
    clock: this computer's plus the offset learned from the server's answers (``clock_skew()``);
    a ``clock`` given here is taken as the server's time as it is (tests, or a notebook that
    follows the sandbox's clock) -- unless it is a ``ServerClock``, which is used as it is:
    ``clock=ServerClock(my_clock)`` makes ``my_clock`` this computer's clock and still follows
    the server's (a test's manual clock on a machine whose clock is not the server's).

    A missing token is only an error when an endpoint that needs one is called.

    >>> client = connect(token="demo-token", base_url="http://127.0.0.1:8765")  # doctest: +SKIP
    """
    return Client(Settings.resolve(token=token, base_url=base_url, cache_dir=cache_dir, **overrides), clock=clock)


class _ObservedApi(Api):
    """The endpoints, with every GET /sendings listing checked against the ledger's record of
    the server (``sending.reconcile.observe_server``): the duplicate check before a send, spend
    and reconcile all notice a server replaced behind the URL.  Every GET /rates answer is also
    kept in the account's rate-card history (``pricing.history``; only when a price changed)."""

    def __init__(self, session: SMSgicSession, observe: Callable[[pd.DataFrame], Any],
                 history: RateHistory | None = None) -> None:
        super().__init__(session)
        self._observe = observe
        self._history = history

    def rates(self, *args: Any, **kwargs: Any) -> pd.DataFrame:
        frame = super().rates(*args, **kwargs)
        if self._history is not None:
            try:
                self._history.record(frame)
            except OSError as exc:  # the history is a record, never a reason to fail a price
                warnings.warn(f"rate-card history: this /rates answer was not kept ({exc})", stacklevel=2)
        return frame

    def sendings(self) -> pd.DataFrame:
        frame = super().sendings()
        self._observe(frame)
        return frame


class Client:
    """The SMSgic API for one account, with pricing, safe sending and spend.  Safe to share between threads.

    GET /rates and /senders and POST /sendings/calculate answers are cached per account
    (``refresh=True`` re-fetches, ``cache=False`` bypasses); everything else always asks.
    ``clock`` is the server's time (``core.dates.ServerClock``), learned from every answer's
    ``Date`` header; the ledger stamps its rows and measures every window with it.
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.clock = clock if isinstance(clock, ServerClock) else ServerClock(clock, follow=clock is None)
        self.http = SMSgicSession(settings, clock=self.clock)
        # Every /rates answer is kept, dated on the ledger's clock (the server's; a notebook's sandbox clock).
        self.rate_card_history = RateHistory.for_settings(settings, clock=lambda: self.ledger.now())
        remember_history(self)
        self.api = _ObservedApi(self.http, lambda frame: observe_server(self, frame), self.rate_card_history)
        # Local record of quotes, sends and balance snapshots, next to the HTTP cache.
        self.ledger = Ledger.for_settings(settings, clock=self.clock)
        if settings.token:
            # Release 0.2 named an account by its URL as spelled; every spelling of one server is now
            # one account (config.account_identity), so rows kept under this spelling's old name are ours.
            spelled = spelled_account_key(settings.token, settings.base_url)
            if spelled != settings.account:
                self.ledger.adopt(spelled, settings.account)
        if settings.token and settings.identity.server == spec.BASE_URL:
            # Ledgers before 0.2 named an account by its token alone.  On the real API a token
            # is one account, so its old rows are its own; a sandbox's old rows could belong to
            # any sandbox that had that token, so they stay where they are (ledger.sends(old key)).
            self.ledger.adopt(legacy_account_key(settings.token), settings.account)

    def __repr__(self) -> str:
        return (f"Client(base_url={self.settings.base_url!r}, account={self.settings.account!r}, "
                f"cache_dir={str(self.settings.cache_dir)!r})")

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close connections, the cache file and the rate limiter's background thread."""
        self.http.close()

    # -- account ---------------------------------------------------------------------------

    def status(self) -> bool:
        """True when GET /status answers ``["OK"]``.  Needs no token; one attempt, never raises
        for an unreachable or failing server (that is what False means)."""
        return self.api.status()

    def balance(self) -> Balance:
        """GET /balance as ``Balance(amount=Decimal('450.000'), sign='£', currency='GBP')``; never
        cached, and recorded in the ledger for ``balance_history()``."""
        balance = self.api.balance()
        self.ledger.record_balance(self.settings.account, balance.amount, balance.currency)
        return balance

    def currency(self) -> str:
        """The account's currency code (asked once from /balance, then remembered)."""
        return self.api.currency()

    def senders(self, *, refresh: bool = False, cache: bool = True) -> pd.DataFrame:
        """GET /senders -> DataFrame[id, sender] (cached for ``settings.senders_expire`` s)."""
        return self.api.senders(refresh=refresh, cache=cache)

    def rates(self, mcc: str | None = None, mnc: str | None = None, country: str | None = None,
              country_id: int | None = None, *, refresh: bool = False, cache: bool = True) -> pd.DataFrame:
        """GET /rates -> DataFrame[mcc, mnc, is_default, country, rate, currency]; ``rate`` is exact Decimal.

        Filters as documented: ``mcc`` (3 digits; required with ``mnc``), ``mnc`` (``"null"``
        selects the country default rows), ``country`` (part of the name), ``country_id``.
        Invalid filters come back from the API as ``ValidationError`` with ``field_errors``.
        """
        return self.api.rates(mcc, mnc, country, country_id, refresh=refresh, cache=cache)

    # -- pricing ---------------------------------------------------------------------------

    def calculate(
        self,
        message: str,
        recipients: Any,
        progress: bool = True,
        *,
        chunk_size: int = exact.CHUNK_SIZE,
        workers: int = 4,
        on_invalid: Literal["raise", "report"] = "raise",
        default_region: str | None = None,
        refresh: bool = False,
        cache: bool = True,
    ) -> Quote:
        """Price ``message`` for every recipient with POST /sendings/calculate -> ``Quote``.

        Recipients are normalised (``phone``; ``default_region`` reads national numbers) and
        de-duplicated first (``quote.duplicates``); invalid rows raise ``InvalidRecipientsError``
        listing each one, or with ``on_invalid="report"`` are left unpriced and listed in
        ``quote.invalid``.  Big audiences go in chunks of ``chunk_size`` numbers over ``workers``
        threads (2-8), within the rate limit, with a progress bar.  Each chunk's answer is
        cached, so after a failure a re-run only fetches the chunks that are missing;
        ``cache=False`` reads nothing cached (rates included) and stores nothing.

        ``recipients`` may also be a Dask Series (``sa.read_audience(path)["phone"]``) or an
        audience file: it is normalised and de-duplicated across its partitions without being
        loaded whole, and chunked exactly as the same numbers in memory (same cache entries).
        The quote itself holds one row per priced number (``quote.numbers``).

        >>> quote = client.calculate("Sale today!", df["phone"], on_invalid="report")  # doctest: +SKIP
        """
        exact.check_message(message)
        people = exact.audience(recipients, on_invalid=on_invalid, default_region=default_region, progress=progress)
        countries = self.api.rates(refresh=refresh, cache=cache)["country"].cat.categories
        quote = exact.calculate(self.api, message, people, countries=countries,
                                currency=self.api.currency(fresh=not cache), progress=progress,
                                chunk_size=chunk_size, workers=workers, refresh=refresh, cache=cache)
        # Every quote goes to the ledger: /sendings rows carry no cost, spend() needs the price.
        self.ledger.record_quote(self.settings.account, message, list(quote.numbers["number"]), quote)
        return quote

    # -- sendings --------------------------------------------------------------------------

    def sendings(self) -> pd.DataFrame:
        """GET /sendings -> DataFrame[id, text, created_at, scheduled_at, status, total_sms]; never cached.

        ``created_at`` is UTC as sent; ``scheduled_at`` is naive in the API and treated as UTC.
        """
        return self.api.sendings()

    def sending(self, id: int) -> dict[str, Any]:
        """GET /sendings/{id} -> {id, status, updated_at, scheduled_at} (UTC timestamps); never cached.

        An unknown id (or another account's) raises ``NotFoundError``.
        """
        return self.api.sending(id)

    # -- safe sending and spend ------------------------------------------------------------

    def campaign(self, message: str, recipients: Any, sender: str, scheduled_at: datetime | str | None = None,
                 type: str = "default", **options: Any) -> Campaign:
        """A ``Campaign`` of this account (preview, each check on its own, then ``run``)."""
        return Campaign(self, message, recipients, sender, scheduled_at=scheduled_at, type=type, **options)

    def send(self, message: str, recipients: Any, sender: str, scheduled_at: datetime | str | None = None,
             type: str = "default", confirm: bool = False, allow_duplicate: bool = False, *,
             default_region: str | None = None) -> SendResult:
        """Send a campaign safely: ``Campaign(self, ...).run(confirm, allow_duplicate)``.

        Validates, quotes afresh (no cached price: the total confirmed is the one priced in this
        call), checks the balance and the duplicate guards, then -- under the account's
        machine-wide send lock -- checks again and POSTs once with a ledger record around it.
        Unless ``confirm`` is exactly ``True`` nothing is sent (``ConfirmationRequiredError``
        shows the exact total); to confirm a total first, ``preview()`` a ``campaign(...)`` and
        ``run(confirm=True, confirmed=preview)`` it.  ``scheduled_at``: a datetime
        (aware -> UTC; naive -> taken as UTC) or a ``"Y-m-d H:i:s"``/ISO-8601 string, in the
        future.  A lost answer raises ``UnknownOutcomeError``: run ``reconcile()``, never re-send.

        >>> result = client.send("Sale today!", df["phone"], "MegaShop", confirm=True)  # doctest: +SKIP
        >>> result.sending_id, result.total, result.currency                            # doctest: +SKIP
        (301, Decimal('0.4173'), 'GBP')
        """
        return self.campaign(message, recipients, sender, scheduled_at=scheduled_at, type=type,
                             default_region=default_region).run(confirm=confirm, allow_duplicate=allow_duplicate)

    def reconcile(self) -> pd.DataFrame:
        """Settle sends whose outcome is unknown from GET /sendings; never re-sends.

        See ``sending.reconcile.reconcile``: one row per unresolved send, with its new state, the
        sending proven to be its own, or the candidates a person should look at.
        """
        return reconcile(self)

    def resolve_send(self, send_id: int, *, sending_id: int | None) -> str:
        """A person's ruling on a send ``reconcile()`` could not settle: ``sending_id`` is its
        sending, or None when it was checked never to have gone out.  Returns the new state."""
        return resolve_send(self, send_id, sending_id=sending_id)

    def spend(self, freq: str = "D", *, sendings: pd.DataFrame | None = None) -> pd.DataFrame:
        """Spend per (sending, destination): the ledger's quotes and sends joined with the
        /sendings statuses (``sendings``, or fetched now); ``period`` is the start of the
        day/week/month (``freq`` D, W, M).  Sendings the ledger did not price are rows with
        ``priced=False`` and no cost (see ``spend.spend_totals``).  A sending is named by its
        ``server_epoch`` and id together: if the server behind the URL was replaced, the sends of
        the earlier server keep their cost with status "previous server", never a new sending's.

        >>> client.spend("W").groupby("period")["cost"].sum()   # doctest: +SKIP
        """
        check_freq(freq)
        if sendings is None:
            rows = self.api.sendings()  # checked against the ledger's record of the server as it comes
        else:
            rows = sendings
            observe_server(self, rows)
        account = self.settings.account
        return spend_frame(*self.ledger.spent(account), rows, freq, server_epoch=self.ledger.server_epoch(account))

    def clock_skew(self) -> timedelta | None:
        """How far the server's clock is from this computer's (server minus here), learned from
        the server's answers; None before the first answer.  "Now", ``scheduled_at`` and every
        window follow the server's clock; previews and reconcile reports say so past 5 minutes.

        >>> client.balance(); client.clock_skew()   # doctest: +SKIP
        datetime.timedelta(days=-1, seconds=79200)
        """
        return self.clock.skew()

    # -- money foresight: budget and rate-card history ---------------------------------------

    def set_budget(self, month: Any = None, campaign: Any = None, *, period: str | None = None) -> BudgetStatus:
        """Set the monthly budget and/or a cap for any single campaign, in the account's currency
        (``Decimal("500.00")``; an int or text, never a float), kept in the ledger file.  ``period``
        ("2026-12") sets that month only.  A send whose total would take its month over the
        budget (spent + scheduled + this send) is refused before any request with
        ``BudgetExceededError``; so is a campaign over the cap.

        >>> client.set_budget(month=Decimal("500.00"), campaign=Decimal("50"))   # doctest: +SKIP
        """
        return Budgets(self.ledger).set(self.settings.account, month=month, campaign=campaign, period=period)

    def budget(self, month: str | None = None) -> BudgetStatus:
        """The budget, spent and scheduled of ``month`` ("2026-12"; default: this month, server time)."""
        return Budgets(self.ledger).status(self.settings.account, month)

    def rates_at(self, date: Any) -> pd.DataFrame:
        """The rate card as it stood at ``date`` (a bare date: that day's end, UTC), rebuilt from
        this account's rate-card history, in ``rates()``'s shape: what ``quote.reprice(rates=...)``
        prices a campaign at (``pricing.history.rates_at``).

        >>> last_month = quote.reprice(rates=client.rates_at("2026-11-01"))   # doctest: +SKIP
        """
        return rates_at(date, self)

    def rates_changed_since(self, when: datetime, countries: Any = None) -> pd.DataFrame:
        """Rows (of ``countries``) whose price changed in the rate-card history after ``when`` (a
        quote's time): the apps' "rates changed since your last quote" warning."""
        return changed_since(self, when, countries)

    def balance_history(self) -> pd.DataFrame:
        """Every balance this account's ``balance()`` calls saw: DataFrame[taken_at, amount (Decimal), currency]."""
        return self.ledger.balance_history(self.settings.account)

    # -- cache -----------------------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        """Cache hits and misses of this client, and this account's cached entries with their ages."""
        return self.http.cache_info()

    def clear_cache(self) -> None:
        """Drop this account's cached answers (other accounts' entries are untouched)."""
        self.http.clear_cache()
