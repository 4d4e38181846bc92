"""The one HTTP session: cached, rate-limited, retrying, with errors mapped to ``errors.py``.

Layers, outermost first (a request only goes as deep as it must)::

    SMSgicSession.call()   retries (GET and calculate only), JSON -> Decimal, error mapping
    CacheMixin             requests-cache, SQLite file ``<cache_dir>/http-cache.sqlite``
    _PauseMixin            waits while the server's Retry-After is running
    LimiterMixin           requests-ratelimiter: counts only requests that reach the network
    requests.Session       timeouts on every request

Cache hits stop at ``CacheMixin`` and never touch the limiter or the network, which is why
the limiter sits *after* the cache in the MRO.

>>> session = SMSgicSession(Settings.resolve(token="t", base_url="http://127.0.0.1:8765"))  # doctest: +SKIP
>>> session.call("GET", spec.RATES)                                                         # doctest: +SKIP
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

import pandas as pd
import requests
from pyrate_limiter import Duration, InMemoryBucket, Limiter, Rate
from pyrate_limiter.abstracts import BucketFactory, RateItem
from requests.adapters import HTTPAdapter
from requests_cache import DO_NOT_CACHE, CacheMixin, create_key
from requests_cache.backends.base import BaseCache
from requests_cache.backends.sqlite import SQLiteCache, SQLiteDict
from requests_cache.policy import DEFAULT_IGNORED_PARAMS
from requests_ratelimiter import LimiterMixin
from urllib3.exceptions import MaxRetryError, NewConnectionError

from ..core import spec
from ..core.config import Settings
from ..core.errors import (APIConnectionError, AuthenticationError, InsufficientBalanceError, MissingTokenError,
    NotFoundError, RateLimitError, ServerError, SMSgicError, UnknownOutcomeError, ValidationError)

log = logging.getLogger(__name__)  # never given headers: the token lives there

CACHE_FILE = "http-cache.sqlite"
OTHER_PER_MINUTE = 6000  # generous: the docs state no limit for endpoints other than calculate
# The server (Laravel's throttle, as the sandbox plays it) counts per account in a fixed 60 s
# window opened by the first attempt; refused attempts do not count.  A sliding-window client
# never puts more than N requests in ANY 60 s span, so none of the server's windows can hold
# more than N either; the margin absorbs requests reaching the server a few ms apart from when
# the limiter let them go.
LIMIT_MARGIN = 0.98
MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After is surfaced as RateLimitError instead of waited out

# --- cache policy ------------------------------------------------------------------------

def _endpoint(method: str, url: str) -> tuple[str, str]:
    """(METHOD, documented path) for a URL, e.g. ("GET", "/sendings/{id}")."""
    path = urlparse(url).path.rstrip("/")
    if path.endswith(spec.CALCULATE):
        return method, spec.CALCULATE
    for known in (spec.STATUS, spec.BALANCE, spec.SENDERS, spec.RATES, spec.SENDINGS):
        if path.endswith(known):
            return method, known
    if re.search(r"/sendings/[^/]+$", path):
        return method, spec.SENDING
    return method, path


# Whether a request may be sent again when an attempt's outcome is unknown -- the one table
# retries and error mapping read.  Reads and pricing change nothing on the server; creating a
# sending spends money and is not idempotent.  An endpoint missing here is treated as unsafe.
SAFE_TO_REPEAT: dict[tuple[str, str], bool] = {
    ("GET", spec.STATUS): True,
    ("GET", spec.BALANCE): True,
    ("GET", spec.SENDERS): True,
    ("GET", spec.RATES): True,
    ("GET", spec.SENDINGS): True,
    ("GET", spec.SENDING): True,
    ("POST", spec.CALCULATE): True,
    ("POST", spec.SENDINGS): False,
}


def safe_to_repeat(method: str, path: str) -> bool:
    """``SAFE_TO_REPEAT`` for a method and URL or path."""
    return SAFE_TO_REPEAT.get(_endpoint(method.upper(), path), False)


def expire_after_for(method: str, path: str, settings: Settings) -> int:
    """Seconds an answer may be reused, or ``DO_NOT_CACHE``.

    Only GET /rates, GET /senders and POST /sendings/calculate are cached; balances, statuses
    and sendings change under our feet, and POST /sendings must reach the server every time.
    """
    policy = {
        ("GET", spec.RATES): settings.rates_expire,
        ("GET", spec.SENDERS): settings.senders_expire,
        ("POST", spec.CALCULATE): settings.calculate_expire,
    }
    return policy.get(_endpoint(method.upper(), path), DO_NOT_CACHE)


def _cacheable(response: requests.Response) -> bool:
    """filter_fn: a second lock on the door - whatever the per-request expiry says, only the
    three cacheable endpoints are ever written (POST is an allowable method only for calculate)."""
    request = response.request
    return _endpoint((request.method or "").upper(), request.url or "") in {
        ("GET", spec.RATES), ("GET", spec.SENDERS), ("POST", spec.CALCULATE)}


# Finding (requests-cache 1.3): DEFAULT_IGNORED_PARAMS lists "Authorization" (with other auth
# headers/params).  Ignored parameters are (a) left out of the cache key and (b) replaced by
# "REDACTED" in the request stored with each response.  (b) keeps the token out of the SQLite
# file - we keep it.  (a) means two tokens asking the same URL would share one entry, leaking
# one account's rates/senders/quotes to another - so the account (a hash of the token, never
# the token) is mixed into every key, and each account also gets its own tables in the file.
def account_cache_key(request: Any, account: str, **kwargs: Any) -> str:
    """requests-cache's own key, namespaced by the account hash."""
    base = create_key(request, **kwargs)
    return hashlib.blake2b(f"{account}:{base}".encode(), digest_size=16).hexdigest()


class AccountSQLiteCache(SQLiteCache):
    """requests-cache's SQLite backend with one pair of tables per account in the same file."""

    def __init__(self, db_path: str | Path, account: str, **kwargs: Any) -> None:
        BaseCache.__init__(self, cache_name=str(db_path), **kwargs)
        self.responses = SQLiteDict(db_path, table_name=f"responses_{account}", **kwargs)
        self.redirects = SQLiteDict(db_path, table_name=f"redirects_{account}",
                                    lock=self.responses._lock, serializer=None, **kwargs)


# --- rate limiting -------------------------------------------------------------------------

def _rates(per_minute: int) -> list[Rate]:
    """A per-minute cap, plus a per-second one so requests are spread over the minute
    instead of leaving in one burst and then waiting (pyrate-limiter needs the per-second
    density >= the per-minute one, so it is rounded up; the minute cap is the hard limit)."""
    per_minute = max(1, int(per_minute))
    per_second = -(-per_minute // 60)
    if per_second >= per_minute:
        return [Rate(per_minute, Duration.MINUTE)]
    return [Rate(per_second, Duration.SECOND), Rate(per_minute, Duration.MINUTE)]


class EndpointBuckets(BucketFactory):
    """Two sliding-window buckets: ``calculate`` (the documented 3000/min) and ``other``.

    pyrate-limiter 4: ``InMemoryBucket`` is a sliding-window log (exact: no 60 s window ever
    holds more than the limit), thread-safe under the Limiter's lock; ``try_acquire(blocking=True)``
    sleeps until there is room (it only returns False when an item can never fit), and the
    background leaker only trims old entries.  So the limiter *delays*, it never fails.
    """

    def __init__(self, calculate_per_minute: int, other_per_minute: int = OTHER_PER_MINUTE) -> None:
        self.buckets = {
            "calculate": InMemoryBucket(_rates(calculate_per_minute)),
            "other": InMemoryBucket(_rates(other_per_minute)),
        }
        for bucket in self.buckets.values():
            self.schedule_leak(bucket)

    def wrap_item(self, name: str, weight: int = 1) -> RateItem:
        return RateItem(name, self.buckets[name].now(), weight=weight)

    def get(self, item: RateItem) -> InMemoryBucket:
        return self.buckets[item.name]


class _PauseMixin:
    """Holds every network request while a server Retry-After runs (cache hits never wait)."""

    _paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        wait = self._paused_until - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        return super().send(request, **kwargs)  # type: ignore[misc]


# --- the session ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CacheInfo:
    """Hits and misses counted by this session, and the cached entries of this account."""

    hits: int
    misses: int
    entries: pd.DataFrame  # [method, endpoint, url, created_at, expires, age]
    path: Path

    def __repr__(self) -> str:
        return f"CacheInfo(hits={self.hits}, misses={self.misses}, entries={len(self.entries)}, path={str(self.path)!r})"


class SMSgicSession(CacheMixin, _PauseMixin, LimiterMixin, requests.Session):
    """A ``requests`` session for one SMSgic account: cache, limiter, retries, error mapping.

    ``call()`` is the entry point.  The inherited ``get``/``post`` still work (rate-limited,
    timed out) but bypass the cache policy, the retries and the error mapping.
    """

    def __init__(self, settings: Settings) -> None:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        self.smsgic = settings
        self._stats_lock = threading.Lock()
        self.hits: Counter[tuple[str, str]] = Counter()
        self.misses: Counter[tuple[str, str]] = Counter()
        per_minute = max(1, int(settings.calculate_per_minute * LIMIT_MARGIN))
        super().__init__(
            # WAL (synchronous=NORMAL): one fsync per checkpoint, not per cached answer, and readers
            # never wait for the writer; a crash may lose recent entries, never corrupt the file.
            backend=AccountSQLiteCache(settings.cache_dir / CACHE_FILE, settings.account, busy_timeout=30_000, wal=True),
            expire_after=DO_NOT_CACHE,  # nothing is cached unless expire_after_for() says so
            allowable_methods=("GET", "POST"),
            allowable_codes=(200,),
            ignored_parameters=DEFAULT_IGNORED_PARAMS,  # keep the Authorization redaction (see above)
            key_fn=functools.partial(account_cache_key, account=settings.account),
            filter_fn=_cacheable,
            limiter=Limiter(EndpointBuckets(per_minute)),
            per_host=False,
            limit_statuses=(),  # a 429 is handled by call(): Retry-After, not a guessed refill
        )
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=16)
        self.mount("http://", adapter)
        self.mount("https://", adapter)
        # requests re-reads proxy and CA-bundle variables on every request (a third of the cost
        # of a cache hit); this session only ever talks to base_url, so read them once, here.
        self.proxies.update(requests.utils.get_environ_proxies(settings.base_url))
        self.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.trust_env = False

    def __repr__(self) -> str:
        return f"<SMSgicSession base_url={self.smsgic.base_url!r} account={self.smsgic.account!r}>"

    def _bucket_name(self, request: requests.PreparedRequest) -> str:
        return "calculate" if _endpoint(request.method or "", request.url or "") == ("POST", spec.CALCULATE) else "other"

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.smsgic.timeout)  # every request has a timeout
        return super().send(request, **kwargs)

    def close(self) -> None:
        super().close()
        self.limiter.bucket_factory.close()  # stop the leaker thread of our own bucket factory

    # -- the entry point ----------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        auth: bool = True,
        cache: bool = True,
        refresh: bool = False,
        retry: bool | None = None,
        only_if_cached: bool = False,
    ) -> Any:
        """Send one API request and return its JSON (floats as ``Decimal``) or raise an SMSgicError.

        ``cache=False`` bypasses the cache (no read, no write); ``refresh=True`` skips the read
        and stores the fresh answer; ``only_if_cached=True`` never touches the network and
        returns None when the answer is not cached.  ``retry`` defaults to ``SAFE_TO_REPEAT``
        (GET and calculate); asking to retry an endpoint that is not safe to repeat is an error.
        """
        method = method.upper()
        endpoint = _endpoint(method, path)
        repeatable = safe_to_repeat(method, path)
        if retry is None:
            retry = repeatable
        elif retry and not repeatable:
            raise ValueError(f"{method} {path} is not safe to repeat and is never retried")
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if auth:
            if not self.smsgic.token:
                raise MissingTokenError(
                    f"{method} {path} needs a token: pass connect(token=...) or set SMSGIC_TOKEN")
            headers["Authorization"] = f"Bearer {self.smsgic.token}"
        expire_after = expire_after_for(method, path, self.smsgic) if cache else DO_NOT_CACHE
        attempt = 0
        while True:
            try:
                response = self.request(
                    method, self.smsgic.base_url + path, params=params, json=json_body, headers=headers,
                    expire_after=expire_after, force_refresh=refresh, only_if_cached=only_if_cached,
                    timeout=self.smsgic.timeout)
            except requests.RequestException as exc:
                error = _transport_error(exc, method, path, repeatable)
                if retry and attempt < self.smsgic.max_retries:
                    log.info("%s %s: %s; retry %d", method, path, type(exc).__name__, attempt + 1)
                    time.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise error from exc
            if only_if_cached and response.status_code == 504:
                return None  # requests-cache's "504 Not Cached" (a real answer is only cached if 200)
            self._count(endpoint, response, expire_after)
            status = response.status_code
            if retry and (status == 429 or status >= 500) and attempt < self.smsgic.max_retries:
                wait = self._backoff(attempt)
                retry_after = _retry_after(response)
                if status == 429 and retry_after is not None:
                    if retry_after > MAX_RETRY_AFTER:
                        raise _error_for(response, method, path)
                    self.pause(retry_after)
                    wait = max(wait, retry_after)
                log.info("%s %s: HTTP %d; retry %d in %.2fs", method, path, status, attempt + 1, wait)
                time.sleep(wait)
                attempt += 1
                continue
            try:
                return _decode(response, method, path, repeatable)
            except SMSgicError:
                if getattr(response, "cache_key", None):
                    self.cache.delete(response.cache_key)  # an unreadable answer must not be reused
                raise

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half fixed, half random, so threads spread out."""
        base = self.smsgic.backoff_factor * (2 ** attempt)
        return base / 2 + random.uniform(0, base / 2)

    def _count(self, endpoint: tuple[str, str], response: requests.Response, expire_after: int) -> None:
        if expire_after == DO_NOT_CACHE:
            return
        with self._stats_lock:
            (self.hits if getattr(response, "from_cache", False) else self.misses)[endpoint] += 1

    # -- cache introspection ------------------------------------------------------------

    def cache_info(self) -> CacheInfo:
        """Hits/misses of this session and the age of every entry this account has cached."""
        now = datetime.now(timezone.utc)
        rows = []
        for response in self.cache.responses.values():
            created = response.created_at
            rows.append({
                "method": response.request.method,
                "endpoint": _endpoint(response.request.method or "", response.url or "")[1],
                "url": response.url,
                "created_at": created,
                "expires": response.expires,
                "age": now - created,
            })
        entries = pd.DataFrame(rows, columns=["method", "endpoint", "url", "created_at", "expires", "age"])
        with self._stats_lock:
            return CacheInfo(sum(self.hits.values()), sum(self.misses.values()), entries, Path(self.cache.db_path))

    def clear_cache(self) -> None:
        """Forget every cached answer of this account and reset the hit/miss counters."""
        self.cache.clear()
        with self._stats_lock:
            self.hits.clear()
            self.misses.clear()


# --- errors --------------------------------------------------------------------------------

def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP-date; the docs' server sends seconds


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly did not reach the server (refused, DNS, connect timeout)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError)


def _transport_error(exc: requests.RequestException, method: str, path: str, repeatable: bool) -> SMSgicError:
    """Map a requests exception.  A request that is not safe to repeat (POST /sendings) and may
    have reached the server has an unknown outcome, not a plain connection error."""
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        if not repeatable:
            return UnknownOutcomeError(
                f"{method} {path}: the answer was cut short (truncated body); the request may have taken effect")
        return ServerError(f"{method} {path}: the answer was cut short (truncated body): {exc}")
    if not repeatable and not _never_sent(exc):
        return UnknownOutcomeError(
            f"{method} {path} was sent but no answer came back ({type(exc).__name__}); it may have "
            "taken effect - reconcile before trying again")
    return APIConnectionError(f"{method} {path}: no response from the server ({type(exc).__name__}: {exc})")


def _decode(response: requests.Response, method: str, path: str, repeatable: bool) -> Any:
    """The JSON body of a 2xx answer (floats as Decimal), or the matching SMSgicError."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            snippet = response.content[:80].decode("utf-8", "replace")
            text = (f"{method} {path} answered HTTP {status} with a body that is not valid JSON "
                    f"(garbage or truncated, {len(response.content)} bytes): {snippet!r}")
            if not repeatable:
                raise UnknownOutcomeError(text + "; the request may have taken effect", http_status=status,
                                          body=response.text, headers=response.headers) from None
            raise ServerError(text, http_status=status, body=response.text, headers=response.headers) from None
    raise _error_for(response, method, path, repeatable)


_FIELD_IN_MESSAGE = re.compile(r"Please send `(\w+)` post parameter")


def field_errors_of(body: Any) -> dict[str, list[str]]:
    """The 422 ``errors`` object with the docs' quirk undone.

    POST /sendings files "recipients not sent" and "sender not sent" under the key ``message``;
    such texts are re-filed under the field they name, so callers see ``recipients``/``sender``.
    """
    raw = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, list[str]] = {}
    for key, texts in raw.items():
        for text in texts if isinstance(texts, list) else [texts]:
            field = str(key)
            named = _FIELD_IN_MESSAGE.match(str(text))
            if field == "message" and named:
                field = named.group(1)
            out.setdefault(field, []).append(str(text))
    return out


def _error_for(response: requests.Response, method: str, path: str, repeatable: bool = True) -> SMSgicError:
    status = response.status_code
    try:
        body: Any = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        body = response.text
    message = body.get("message") if isinstance(body, Mapping) else None
    text = str(message) if message else f"HTTP {status} from {method} {path}: {str(body)[:200]!r}"
    kw = {"http_status": status, "body": body, "headers": response.headers}
    if status == 401:
        return AuthenticationError(text, **kw)
    if status == 404:
        return NotFoundError(text, **kw)
    if status == 429:
        return RateLimitError(text, retry_after=_retry_after(response), **kw)
    if status in (402, 422):
        fields = field_errors_of(body)
        if status == 402 or "balance" in fields or str(message or "").startswith("Insufficient balance"):
            return InsufficientBalanceError(text, field_errors=fields, **kw)
        return ValidationError(text, field_errors=fields, **kw)
    if status >= 500:
        if not repeatable and status in (502, 504):
            # a gateway lost the answer: the server behind it may have acted
            return UnknownOutcomeError(f"{text} (gateway error: the request may have taken effect)", **kw)
        return ServerError(text, **kw)
    return SMSgicError(text, **kw)
