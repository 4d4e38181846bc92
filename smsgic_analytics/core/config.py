"""Settings: explicit arguments win over the environment, the environment over defaults.

Environment: SMSGIC_TOKEN, SMSGIC_BASE_URL, SMSGIC_CACHE_DIR.  The token is held but never
shown: ``repr(settings)`` and ``settings.account`` (a short hash) are safe to print or store.
"""
from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from platformdirs import user_cache_dir

from . import spec

ENV_TOKEN = "SMSGIC_TOKEN"
ENV_BASE_URL = "SMSGIC_BASE_URL"
ENV_CACHE_DIR = "SMSGIC_CACHE_DIR"
# The admin token of a local sandbox's test controls: `make lab` gives it to the sandbox and
# to its notebooks.  Not a Settings field: the client never sends it to the API.
ENV_SANDBOX_ADMIN_TOKEN = "SMSGIC_SANDBOX_ADMIN_TOKEN"


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name, "0.0.0.0", "": assume the network can reach it


# What ``account_key`` gives: 16 hex digits, or "anonymous"; anything else may be a raw token.
ACCOUNT_KEY_RE = re.compile(r"^(?:[0-9a-f]{16}|anonymous)$")


def account_key(token: str | None, base_url: str = spec.BASE_URL) -> str:
    """A stable, non-reversible name for an account on a server: 16 hex digits of
    sha256(base URL + token).  The server is part of it: the same token on two servers (two
    sandboxes, a sandbox and the API) names two accounts, which never share a cache entry
    or a ledger row."""
    if not token:
        return "anonymous"
    return hashlib.sha256(f"{base_url.rstrip('/')}\n{token}".encode()).hexdigest()[:16]


def legacy_account_key(token: str) -> str:
    """The name ledgers before version 0.2 gave an account: sha256(token) alone, any server."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Settings:
    """Everything a client needs to know, resolved once.

    >>> Settings.resolve(token="t", base_url="http://127.0.0.1:8765").base_url
    'http://127.0.0.1:8765'
    """

    token: str | None = field(default=None, repr=False)
    base_url: str = spec.BASE_URL
    cache_dir: Path = field(default_factory=lambda: Path(user_cache_dir("smsgic-analytics")))
    timeout: float = 30.0  # seconds, connect and read, on every request
    # Seconds a server may still commit a POST /sendings after the client stopped waiting for
    # it; until timeout + commit_grace have passed, a send missing from /sendings is not proof
    # that it was never created.
    commit_grace: float = 300.0
    calculate_per_minute: int = spec.CALCULATE_PER_MINUTE
    max_retries: int = 5
    backoff_factor: float = 0.5  # seconds; doubled each retry, with jitter
    rates_expire: int = 6 * 3600  # seconds
    senders_expire: int = 3600
    calculate_expire: int = 24 * 3600

    @classmethod
    def resolve(
        cls,
        token: str | None = None,
        base_url: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        **overrides: object,
    ) -> "Settings":
        """Build settings from arguments, falling back to the environment, then to defaults."""
        token = token or os.environ.get(ENV_TOKEN) or None
        base_url = (base_url or os.environ.get(ENV_BASE_URL) or spec.BASE_URL).rstrip("/")
        cache = cache_dir or os.environ.get(ENV_CACHE_DIR)
        settings = cls(token=token, base_url=base_url, **overrides)  # type: ignore[arg-type]
        if cache:
            settings = replace(settings, cache_dir=Path(cache))
        return settings

    @property
    def account(self) -> str:
        """Hash of the server and the token: names the account in cache keys and the ledger
        without revealing the token."""
        return account_key(self.token, self.base_url)
