"""``Client``: one method per SMSgic endpoint, returning typed records and tidy DataFrames.

>>> import smsgic_analytics as sa
>>> client = sa.connect(token="demo-token", base_url="http://127.0.0.1:8765")   # doctest: +SKIP
>>> quote = client.calculate("Hello!", ["+44 7700 900123", "+371 2000 0001"])  # doctest: +SKIP
>>> quote.total, quote.currency                                                 # doctest: +SKIP
(Decimal('0.9'), 'GBP')
"""
from __future__ import annotations

import copy
import numbers
import os
import weakref
from collections import defaultdict
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence, TypeVar

import pandas as pd
from tqdm.auto import tqdm

from . import frames, spec
from .config import Settings
from .errors import ServerError, SMSgicError, UnknownOutcomeError, ValidationError
from .http import CacheInfo, SMSgicSession
from .ledger import FREQS, Ledger
from .quote import Quote
from .recipients import normalize_recipients

if TYPE_CHECKING:  # campaign.py imports this module: import it back only for type hints
    from .campaign import SendResult

T = TypeVar("T")
CHUNK_SIZE = 1000
MAX_WORKERS = 8


@dataclass(frozen=True)
class Balance:
    """The account balance: exact ``amount``, the currency ``sign`` (``£``) and ISO ``currency`` code."""

    amount: Decimal
    sign: str
    currency: str

    def __str__(self) -> str:
        return f"{self.sign}{self.amount} ({self.currency})"


def connect(token: str | None = None, base_url: str | None = None, cache_dir: str | os.PathLike[str] | None = None,
            **overrides: Any) -> "Client":
    """A client for one account.  Missing arguments come from SMSGIC_TOKEN, SMSGIC_BASE_URL,
    SMSGIC_CACHE_DIR; ``overrides`` set other ``Settings`` fields (timeout, max_retries, ...).

    A missing token is only an error when an endpoint that needs one is called.

    >>> client = connect(token="demo-token", base_url="http://127.0.0.1:8765")  # doctest: +SKIP
    """
    return Client(Settings.resolve(token=token, base_url=base_url, cache_dir=cache_dir, **overrides))


class Client:
    """The SMSgic API, one method per endpoint.  Safe to share between threads.

    GET /rates and /senders and POST /sendings/calculate answers are cached per account
    (``refresh=True`` re-fetches, ``cache=False`` bypasses); everything else always asks.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = SMSgicSession(settings)
        self._currency: str | None = None
        # Local record of quotes, sends and balance snapshots, next to the HTTP cache (campaign.py).
        self.ledger = Ledger.for_settings(settings)
        self._quote_ids: weakref.WeakKeyDictionary[Quote, int] = weakref.WeakKeyDictionary()

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
        try:
            return self.http.call("GET", spec.STATUS, auth=False, retry=False) == spec.STATUS_OK
        except SMSgicError:
            return False

    def balance(self) -> Balance:
        """GET /balance as ``Balance(amount=Decimal('450.000'), sign='£', currency='GBP')``; never cached."""
        data = self.http.call("GET", spec.BALANCE)
        try:
            balance = Balance(amount=Decimal(str(data["balance"])), sign=str(data["sign"]), currency=str(data["code"]))
        except (KeyError, TypeError, ArithmeticError) as exc:
            raise ServerError(f"GET /balance: unexpected answer ({exc!r})", http_status=200, body=data) from None
        self._currency = balance.currency
        self.ledger.record_balance(self.settings.account, balance.amount, balance.currency)  # for balance_history()
        return balance

    def currency(self) -> str:
        """The account's currency code (asked once from /balance, then remembered)."""
        if self._currency is None:
            self.balance()
        assert self._currency is not None
        return self._currency

    def senders(self, *, refresh: bool = False, cache: bool = True) -> pd.DataFrame:
        """GET /senders -> DataFrame[id, sender] (cached for ``settings.senders_expire`` s)."""
        data = self.http.call("GET", spec.SENDERS, refresh=refresh, cache=cache)
        return _shape(frames.senders_frame, data, "senders", spec.SENDERS)

    def rates(self, mcc: str | None = None, mnc: str | None = None, country: str | None = None,
              country_id: int | None = None, *, refresh: bool = False, cache: bool = True) -> pd.DataFrame:
        """GET /rates -> DataFrame[mcc, mnc, is_default, country, rate, currency].

        Filters as documented: ``mcc`` (3 digits; required with ``mnc``), ``mnc`` (``"null"``
        selects the country default rows), ``country`` (part of the name), ``country_id``.
        Invalid filters come back from the API as ``ValidationError`` with ``field_errors``.
        """
        params = {k: v for k, v in {"mcc": mcc, "mnc": mnc, "country": country, "country_id": country_id}.items()
                  if v is not None}
        data = self.http.call("GET", spec.RATES, params=params or None, refresh=refresh, cache=cache)
        currency = self.currency()
        return _shape(lambda records: frames.rates_frame(records, currency), data, "rates", spec.RATES)

    # -- pricing ---------------------------------------------------------------------------

    def calculate(
        self,
        message: str,
        recipients: Any,
        progress: bool = True,
        *,
        chunk_size: int = CHUNK_SIZE,
        workers: int = 4,
        on_invalid: Literal["raise", "report"] = "raise",
        refresh: bool = False,
        cache: bool = True,
    ) -> Quote:
        """Price ``message`` for every recipient with POST /sendings/calculate -> ``Quote``.

        Recipients are normalised and de-duplicated first (``quote.duplicates``); invalid rows
        raise ``InvalidRecipientsError`` listing each one, or with ``on_invalid="report"`` are
        left unpriced and listed in ``quote.invalid``.  Big audiences go in chunks of
        ``chunk_size`` numbers over ``workers`` threads (2-8), within the rate limit, with a
        progress bar.  Each chunk's answer is cached, so after a failure a re-run only fetches
        the chunks that are missing.  A chunk that fails after its retries raises the error it
        got, extended with ``.chunk`` (0-based index) and ``.unpriced`` (the numbers not priced).

        >>> quote = client.calculate("Sale today!", df["phone"], on_invalid="report")  # doctest: +SKIP
        """
        if not isinstance(message, str) or message == "":
            raise ValidationError(spec.MSG_MISSING_MESSAGE, field_errors={"message": [spec.MSG_MISSING_MESSAGE]})
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        people = normalize_recipients(recipients, on_invalid=on_invalid)
        if not people.numbers:
            raise ValidationError(f"{spec.MSG_MISSING_RECIPIENTS} ({people.summary()})",
                                  field_errors={"recipients": [spec.MSG_MISSING_RECIPIENTS]})
        countries = list(self.rates()["country"].cat.categories)
        chunks = plan_chunks(people.numbers, chunk_size)
        responses = self._calculate_chunks(message, chunks, progress=progress, workers=workers,
                                           refresh=refresh, cache=cache)
        quote = Quote.build(message, chunks, responses, countries=countries, currency=self.currency(),
                            recipients=people)
        # Every quote goes to the ledger: /sendings rows carry no cost, spend() needs the price.
        self._quote_ids[quote] = self.ledger.record_quote(
            self.settings.account, message, list(quote.numbers["number"]), quote)
        return quote

    def _calculate_chunks(self, message: str, chunks: Sequence[Sequence[str]], *, progress: bool, workers: int,
                          refresh: bool, cache: bool) -> list[Any]:
        """POST every chunk (concurrently); all answers in chunk order, or the first failure."""
        def one(chunk: Sequence[str], only_if_cached: bool = False) -> Any:
            return self.http.call("POST", spec.CALCULATE, json_body={"message": message, "recipients": list(chunk)},
                                  refresh=refresh, cache=cache, only_if_cached=only_if_cached)

        if len(chunks) == 1:
            return [one(chunks[0])]  # nothing partial to report: errors pass through untouched
        results: list[Any] = [None] * len(chunks)
        failures: dict[int, BaseException] = {}
        workers = max(2, min(MAX_WORKERS, workers, len(chunks)))
        with tqdm(total=sum(map(len, chunks)), unit="numbers", desc="Pricing", disable=not progress) as bar, \
                ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smsgic-calculate") as pool:
            if cache and not refresh:
                # Chunks priced before (a re-run, or a resume after a failure) come from the cache
                # here, in this thread: threads only help while waiting on the network.
                for i, chunk in enumerate(chunks):
                    results[i] = one(chunk, only_if_cached=True)
                    if results[i] is not None:
                        bar.update(len(chunk))
            futures: dict[Future[Any], int] = {
                pool.submit(one, chunk): i for i, chunk in enumerate(chunks) if results[i] is None}
            for future in as_completed(futures):
                i = futures[future]
                try:
                    results[i] = future.result()
                    bar.update(len(chunks[i]))
                except CancelledError:
                    pass  # not started because another chunk failed; listed as unpriced below
                except Exception as exc:  # noqa: BLE001 - re-raised below with the chunk named
                    failures[i] = exc
                    for other in futures:
                        other.cancel()  # stop starting new chunks; finished ones stay cached
        if failures:
            raise _chunk_failure(chunks, results, failures)
        return results

    # -- sendings --------------------------------------------------------------------------

    def sendings(self) -> pd.DataFrame:
        """GET /sendings -> DataFrame[id, text, created_at, scheduled_at, status, total_sms]; never cached.

        ``created_at`` is UTC as sent; ``scheduled_at`` is naive in the API and treated as UTC.
        """
        data = self.http.call("GET", spec.SENDINGS)
        return _shape(frames.sendings_frame, data, "sendings", spec.SENDINGS)

    def sending(self, id: int) -> dict[str, Any]:
        """GET /sendings/{id} -> {id, status, updated_at, scheduled_at} (UTC timestamps); never cached.

        An unknown id (or another account's) raises ``NotFoundError``.
        """
        if isinstance(id, str) and id.isdigit():
            id = int(id)
        if isinstance(id, bool) or not isinstance(id, numbers.Integral):
            raise ValidationError(f"a sending id is an integer, not {id!r}", field_errors={"id": ["must be an integer"]})
        path = spec.SENDING.format(id=int(id))
        data = self.http.call("GET", path)
        record = data.get("sending") if isinstance(data, Mapping) else None
        try:
            return frames.sending_record(record)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            raise ServerError(f"GET {path}: unexpected answer ({exc})", http_status=200, body=data) from None

    # -- safe sending and spend (campaign.py, ledger.py) ----------------------------------

    def send(self, message: str, recipients: Any, sender: str, scheduled_at: datetime | str | None = None,
             type: str = "default", confirm: bool = False, allow_duplicate: bool = False) -> "SendResult":
        """Send a campaign safely: ``Campaign(self, ...).run(confirm, allow_duplicate)``.

        Validates, quotes, checks the balance and the duplicate guard, then POSTs once with a
        ledger record around it.  Without ``confirm=True`` nothing is sent
        (``ConfirmationRequiredError`` shows the exact total).  ``scheduled_at``: a datetime
        (aware -> UTC; naive -> taken as UTC) or a ``"Y-m-d H:i:s"``/ISO-8601 string, in the
        future.  A lost answer raises ``UnknownOutcomeError``: run ``reconcile()``, never re-send.

        >>> result = client.send("Sale today!", df["phone"], "MegaShop", confirm=True)  # doctest: +SKIP
        >>> result.sending_id, result.total, result.currency                            # doctest: +SKIP
        (301, Decimal('0.4173'), 'GBP')
        """
        from .campaign import Campaign

        return Campaign(self, message, recipients, sender, scheduled_at=scheduled_at, type=type).run(
            confirm=confirm, allow_duplicate=allow_duplicate)

    def reconcile(self, **kwargs: Any) -> pd.DataFrame:
        """Settle sends whose outcome is unknown by looking at GET /sendings; never re-sends.

        See ``campaign.reconcile`` for the matching rule; returns one row per settled send.
        """
        from .campaign import reconcile

        return reconcile(self, **kwargs)

    def spend(self, freq: str = "D") -> pd.DataFrame:
        """Spend per (sending, destination): the ledger's quotes and sends joined with the
        /sendings statuses; ``period`` is the start of the day/week/month (``freq`` D, W, M).

        >>> client.spend("W").groupby("period")["cost"].sum()   # doctest: +SKIP
        """
        if freq not in FREQS:
            raise ValueError(f"freq: must be one of {', '.join(FREQS)} (day, week, month), got {freq!r}")
        return self.ledger.spend(self.settings.account, self.sendings(), freq)

    def balance_history(self) -> pd.DataFrame:
        """Every balance this account's ``balance()`` calls saw: DataFrame[taken_at, amount, amount_float, currency]."""
        return self.ledger.balance_history(self.settings.account)

    def _ledger_quote_id(self, quote: Quote) -> int | None:
        """The ledger id ``calculate()`` recorded ``quote`` under (None for a quote it did not make)."""
        return self._quote_ids.get(quote)

    def _post_sending(self, payload: Mapping[str, Any]) -> int:
        """POST /sendings exactly once (never cached, never retried) and return ``sending_id``.

        The low-level door for ``campaign.py``; ``payload`` goes out as given.
        """
        data = self.http.call("POST", spec.SENDINGS, json_body=dict(payload), cache=False, retry=False)
        sending_id = data.get("sending_id") if isinstance(data, Mapping) else None
        if isinstance(sending_id, bool) or not isinstance(sending_id, int):
            raise UnknownOutcomeError(
                f"POST /sendings answered without a sending_id ({str(data)[:200]!r}); the sending may exist",
                http_status=200, body=data)
        return sending_id

    # -- cache -----------------------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        """Cache hits and misses of this client, and this account's cached entries with their ages."""
        return self.http.cache_info()

    def clear_cache(self) -> None:
        """Drop this account's cached answers (other accounts' entries are untouched)."""
        self.http.clear_cache()


# --- helpers ---------------------------------------------------------------------------------

def plan_chunks(numbers: Sequence[str], size: int) -> list[list[str]]:
    """Split numbers into chunks of at most ``size``, deterministically (so cached chunks are
    found again on a re-run).  Numbers equal as integers (``"012345678"`` vs ``"12345678"``)
    never share a chunk: the API answers with integers, and each must map back to one input."""
    rounds: list[list[str]] = []
    seen: dict[str, int] = defaultdict(int)
    for number in numbers:
        key = str(int(number))
        k = seen[key]
        seen[key] += 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(number)
    return [r[i:i + size] for r in rounds for i in range(0, len(r), size)]


def format_scheduled_at(value: datetime | str | None) -> str | None:
    """``scheduled_at`` as the API wants it: ``Y-m-d H:i:s`` in UTC (naive input is taken as UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.strptime(value, spec.SCHEDULED_AT_FORMAT)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise ValidationError(f"{spec.MSG_INVALID_SCHEDULED_AT} Got {value!r}",
                                      field_errors={"scheduled_at": [spec.MSG_INVALID_SCHEDULED_AT]}) from None
        value = parsed
    if not isinstance(value, datetime) or pd.isna(value):
        raise ValidationError(f"{spec.MSG_INVALID_SCHEDULED_AT} Got {value!r}",
                              field_errors={"scheduled_at": [spec.MSG_INVALID_SCHEDULED_AT]})
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.strftime(spec.SCHEDULED_AT_FORMAT)


def _shape(build: Callable[[Any], T], data: Any, key: str, path: str) -> T:
    """Build a frame from ``data[key]``; an answer of the wrong shape is a ServerError naming why."""
    records = data.get(key) if isinstance(data, Mapping) else None
    if not isinstance(records, list):
        raise ServerError(f"GET {path}: the answer has no {key!r} list", http_status=200, body=data)
    try:
        return build(records)
    except (ValueError, TypeError) as exc:
        raise ServerError(f"GET {path}: unexpected answer ({exc})", http_status=200, body=data) from None


def _chunk_failure(chunks: Sequence[Sequence[str]], results: Sequence[Any],
                   failures: Mapping[int, BaseException]) -> BaseException:
    """The first failed chunk's error, re-worded to name the chunk and the unpriced numbers."""
    first = min(failures)
    cause = failures[first]
    unpriced = tuple(n for i, chunk in enumerate(chunks) if results[i] is None for n in chunk)
    done = sum(r is not None for r in results)
    reason = cause.message if isinstance(cause, SMSgicError) else f"{type(cause).__name__}: {cause}"
    detail = (f"calculate chunk {first + 1} of {len(chunks)} ({len(chunks[first])} numbers from {chunks[first][0]}) "
              f"failed: {reason}. {len(unpriced)} numbers are unpriced (see .unpriced); {done} chunks are priced "
              f"and cached - call calculate() again to fetch only the missing ones.")
    if isinstance(cause, SMSgicError):
        error: BaseException = copy.copy(cause)
        error.message = detail  # type: ignore[attr-defined]
    else:
        error = SMSgicError(detail)
    error.args = (detail,)
    error.chunk = first  # type: ignore[attr-defined]
    error.unpriced = unpriced  # type: ignore[attr-defined]
    error.__cause__ = cause
    return error
