"""The HTTP cache's storage: requests-cache's SQLite backend, one namespace per account."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from requests_cache import create_key
from requests_cache.backends.base import BaseCache
from requests_cache.backends.sqlite import SQLiteCache, SQLiteDict


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
