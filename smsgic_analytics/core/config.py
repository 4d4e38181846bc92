"""Settings: explicit arguments win over the environment, the environment over defaults.

Environment: SMSGIC_TOKEN, SMSGIC_BASE_URL, SMSGIC_CACHE_DIR, SMSGIC_STATE_DIR.  The token is
held but never shown: ``repr(settings)`` and ``settings.account`` (a short hash) are safe to
print or store.

The account identity lives here too: one server spelled many ways (``http://localhost:8765``,
``http://127.0.0.1:8765/``, ``http://[::1]:8765``) is one server, so one account on it has one
``account_key`` -- the name of its cache namespace, its ledger rows, its send lock and its
rate-limit budget.
"""
from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_cache_dir, user_state_dir

from . import spec

ENV_TOKEN = "SMSGIC_TOKEN"
ENV_BASE_URL = "SMSGIC_BASE_URL"
ENV_CACHE_DIR = "SMSGIC_CACHE_DIR"
# The machine-wide state folder (send locks, the shared rate-limit budget): one per user on a
# machine, whatever cache folder each notebook uses.
ENV_STATE_DIR = "SMSGIC_STATE_DIR"
APP_DIR_NAME = "smsgic-analytics"
ACCOUNTS_DIR = "accounts"  # <cache_dir>/accounts/<account key>/: Settings.account_dir
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


DEFAULT_PORTS = {"http": 80, "https": 443}
# Every loopback spelling (localhost, 127.0.0.0/8, ::1, any case) names this one host.
LOOPBACK_HOST = "127.0.0.1"


@dataclass(frozen=True)
class AccountIdentity:
    """One account on one server, whatever the spelling of its URL: ``scheme``, ``host`` (every
    loopback spelling is ``LOOPBACK_HOST``; names lower-cased, without a trailing dot), ``port``
    (the scheme's default filled in), ``prefix`` (the URL's path, without trailing slashes) and
    ``token_hash`` (16 hex digits of sha256(token), None without a token).  ``key`` is the
    ``account_key``.  Holds no token: safe to print or store.

    >>> account_identity("t", "http://LOCALHOST:8765/") == account_identity("t", "http://[::1]:8765")
    True
    """

    scheme: str
    host: str
    port: int
    prefix: str
    token_hash: str | None
    key: str

    @property
    def server(self) -> str:
        """The canonical server URL: ``http://127.0.0.1:8765``, ``https://api.smsgic.com`` (a
        default port is implied, as every release before this one spelled the API's URL)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if DEFAULT_PORTS.get(self.scheme) == self.port else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.prefix}"


def canonical_host(host: str) -> str:
    """The one spelling of a host: loopback -> ``LOOPBACK_HOST``, an IP in its compressed form,
    a name lower-cased (IDNA for non-ASCII) without its trailing dot."""
    host = host.strip("[]").rstrip(".").lower()
    if is_loopback(host):
        return LOOPBACK_HOST
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def account_identity(token: str | None, base_url: str = spec.BASE_URL) -> AccountIdentity:
    """The canonical identity of ``token``'s account on the server at ``base_url``.

    ``http://localhost:8765``, ``http://127.0.0.1:8765/``, ``http://LOCALHOST:8765`` and
    ``http://[::1]:8765`` are one server; ``http://host`` is ``http://host:80``.  User info,
    query and fragment of the URL are not part of it.  A URL that is not http(s) with a host
    raises ``ValueError``.
    """
    parts = urlsplit(str(base_url).strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"base_url: expected http://host[:port][/prefix] or https://..., got {base_url!r}")
    port = parts.port or DEFAULT_PORTS[scheme]  # ValueError for a port out of range
    prefix = parts.path.rstrip("/")
    host = canonical_host(parts.hostname)
    token_hash = legacy_account_key(token) if token else None
    identity = AccountIdentity(scheme, host, port, prefix, token_hash, "anonymous")
    if not token:
        return identity
    key = hashlib.sha256(f"{identity.server}\n{token}".encode()).hexdigest()[:16]
    return replace(identity, key=key)


def account_key(token: str | None, base_url: str = spec.BASE_URL) -> str:
    """A stable, non-reversible name for an account on a server: 16 hex digits of
    sha256(canonical server URL + token), or "anonymous" without a token.  The server is part of
    it (the same token on two servers names two accounts, which never share a cache entry or a
    ledger row); its spelling is not (see ``account_identity``)."""
    return account_identity(token, base_url).key


def spelled_account_key(token: str, base_url: str) -> str:
    """The name release 0.2 gave an account: sha256(base URL as spelled + token).  For the
    canonical spelling it is ``account_key``; ``Client`` adopts the rows of any other spelling."""
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
    cache_dir: Path = field(default_factory=lambda: Path(user_cache_dir(APP_DIR_NAME)))
    # Machine-wide (per user), independent of cache_dir: the send lock and the rate-limit budget
    # that every notebook on this machine shares for an account.
    state_dir: Path = field(default_factory=lambda: Path(user_state_dir(APP_DIR_NAME)))
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
    # Seconds a send waits for another process's send of the same account (the machine-wide send
    # lock) before giving up with SendLockTimeoutError; nothing is sent then.
    send_lock_timeout: float = 120.0

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
        state = overrides.pop("state_dir", None) or os.environ.get(ENV_STATE_DIR)
        settings = cls(token=token, base_url=base_url, **overrides)  # type: ignore[arg-type]
        if cache:
            settings = replace(settings, cache_dir=Path(cache))
        if state:
            settings = replace(settings, state_dir=Path(state))  # type: ignore[arg-type]
        return settings

    @cached_property
    def identity(self) -> AccountIdentity:
        """The canonical account identity (server and a hash of the token; never the token)."""
        return account_identity(self.token, self.base_url)

    @property
    def account_dir(self) -> Path:
        """The account's own data folder, ``<cache_dir>/accounts/<account key>`` (named by the
        hash, never the token): per-account files that are not SQLite rows, such as the rate-card
        snapshots (``pricing.history``)."""
        return Path(self.cache_dir) / ACCOUNTS_DIR / self.account

    @property
    def account(self) -> str:
        """Hash of the canonical server and the token: names the account in cache keys, the
        ledger, the send lock and the rate-limit budget without revealing the token."""
        return self.identity.key
