"""The one HTTP session: cached, rate-limited, retrying, with errors mapped to ``errors.py``.

Layers, outermost first (a request only goes as deep as it must)::

    SMSgicSession.call()   retries (GET and calculate only), JSON -> Decimal, error mapping
    CacheMixin             requests-cache, SQLite file ``<cache_dir>/http-cache.sqlite``
    PauseMixin            waits while the server's Retry-After is running
    LimiterMixin           requests-ratelimiter: counts only requests that reach the network,
                           in a budget every process of this machine shares for the account
                           (a SQLite bucket in ``Settings.state_dir``, see ``limiter``)
    requests.Session       timeouts on every request
    ClockAdapter           the transport: reads the server's clock off each answer's Date header

Cache hits stop at ``CacheMixin`` and never touch the limiter or the network, which is why
the limiter sits *after* the cache in the MRO.  A request that is not safe to repeat (POST
/sendings) goes out on a fresh connection of its own (``Connection: close``): a kept-alive
connection the server already dropped can only fail a request that may be sent again.

>>> session = SMSgicSession(Settings.resolve(token="t", base_url="http://127.0.0.1:8765"))  # doctest: +SKIP
>>> session.call("GET", spec.RATES)                                                         # doctest: +SKIP
"""
from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
import requests
from pyrate_limiter import Limiter
from requests.adapters import HTTPAdapter
from requests_cache import DO_NOT_CACHE, CacheMixin
from requests_cache.policy import DEFAULT_IGNORED_PARAMS
from requests_ratelimiter import LimiterMixin

from ..core import spec
from ..core.config import Settings
from ..core.dates import ServerClock
from ..core.errors import MissingTokenError, SMSgicError
from .cache import AccountSQLiteCache, account_cache_key
from .limiter import EndpointBuckets, PauseMixin, budget_path
from .policy import cacheable, endpoint_of, expire_after_for, safe_to_repeat
from .responses import decode, error_for, retry_after_of, transport_error

log = logging.getLogger(__name__)  # never given headers: the token lives there

CACHE_FILE = "http-cache.sqlite"
# The server (Laravel's throttle, as the sandbox plays it) counts per account in a fixed 60 s
# window opened by the first attempt; refused attempts do not count.  A sliding-window client
# never puts more than N requests in ANY 60 s span, so none of the server's windows can hold
# more than N either; the margin absorbs requests reaching the server a few ms apart from when
# the limiter let them go.
LIMIT_MARGIN = 0.98
MAX_RETRY_AFTER = 120.0  # seconds; a longer Retry-After is surfaced as RateLimitError instead of waited out

# --- the session ---------------------------------------------------------------------------

class ClockAdapter(HTTPAdapter):
    """The transport adapter that also reads the server's clock off every answer's ``Date``.

    It sits under the cache (only answers that came over the network pass here: a cached
    answer's old Date teaches nothing) and changes nothing in the request or the response.
    """

    def __init__(self, clock: ServerClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        sent = self.clock.base()
        response = super().send(request, *args, **kwargs)  # returns once the headers are in
        self.clock.observe_date(response.headers.get("Date"), sent, self.clock.base())
        return response


@dataclass(frozen=True)
class CacheInfo:
    """Hits and misses counted by this session, and the cached entries of this account."""

    hits: int
    misses: int
    entries: pd.DataFrame  # [method, endpoint, url, created_at, expires, age]
    path: Path

    def __repr__(self) -> str:
        return f"CacheInfo(hits={self.hits}, misses={self.misses}, entries={len(self.entries)}, path={str(self.path)!r})"


class SMSgicSession(CacheMixin, PauseMixin, LimiterMixin, requests.Session):
    """A ``requests`` session for one SMSgic account: cache, limiter, retries, error mapping.

    ``call()`` is the entry point.  The inherited ``get``/``post`` still work (rate-limited,
    timed out) but bypass the cache policy, the retries and the error mapping.
    """

    def __init__(self, settings: Settings, *, clock: ServerClock | None = None) -> None:
        settings.cache_dir.mkdir(parents=True, exist_ok=True)
        self.smsgic = settings
        # The server's clock, learned from the Date header of every answer from the network.
        self.server_clock = clock if clock is not None else ServerClock()
        self._stats_lock = threading.Lock()
        self._fresh = threading.local()  # the adapter of a request that must not reuse a connection
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
            filter_fn=cacheable,
            limiter=Limiter(EndpointBuckets(per_minute, path=budget_path(settings.state_dir, settings.account))),
            per_host=False,
            limit_statuses=(),  # a 429 is handled by call(): Retry-After, not a guessed refill
        )
        adapter = ClockAdapter(self.server_clock, pool_connections=2, pool_maxsize=16)
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
        return "calculate" if endpoint_of(request.method or "", request.url or "") == ("POST", spec.CALCULATE) else "other"

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.smsgic.timeout)  # every request has a timeout
        if safe_to_repeat(request.method or "", request.url or ""):
            return super().send(request, **kwargs)
        # Not safe to repeat: never on a pooled keep-alive connection (the server may have closed
        # it while idle, and a reset then means "unknown outcome"), and none kept afterwards.
        request.headers["Connection"] = "close"
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1)
        self._fresh.adapter = adapter
        try:
            return super().send(request, **kwargs)
        finally:
            self._fresh.adapter = None
            adapter.close()

    def get_adapter(self, url: str) -> requests.adapters.BaseAdapter:
        fresh = getattr(self._fresh, "adapter", None)
        return fresh if fresh is not None else super().get_adapter(url)

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
        endpoint = endpoint_of(method, path)
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
                error = transport_error(exc, method, path, repeatable)
                if retry and error.should_retry and attempt < self.smsgic.max_retries:
                    log.info("%s %s: %s; retry %d", method, path, type(exc).__name__, attempt + 1)
                    time.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise error from exc
            if only_if_cached and response.status_code == 504:
                return None  # requests-cache's "504 Not Cached" (a real answer is only cached if 200)
            self._count(endpoint, response, expire_after)
            status = response.status_code
            failed = error_for(response, method, path, repeatable) if status >= 400 else None
            if retry and failed is not None and failed.should_retry and attempt < self.smsgic.max_retries:
                wait = self._backoff(attempt)
                retry_after = retry_after_of(response)
                if status == 429 and retry_after is not None:
                    if retry_after > MAX_RETRY_AFTER:
                        raise failed
                    self.pause(retry_after)
                    wait = max(wait, retry_after)
                log.info("%s %s: HTTP %d; retry %d in %.2fs", method, path, status, attempt + 1, wait)
                time.sleep(wait)
                attempt += 1
                continue
            try:
                return decode(response, method, path, repeatable)
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
                "endpoint": endpoint_of(response.request.method or "", response.url or "")[1],
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


