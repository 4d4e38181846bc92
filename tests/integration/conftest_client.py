"""Fixtures for the client's integration tests (imported by tests/integration/test_client_*.py).

``make_client(token="demo-token", url=None, **settings)`` builds a real ``Client`` on the
session sandbox (or ``url``) with its own SQLite cache in a temporary directory and a
short backoff, and closes it after the test.  Helpers generate phone numbers that the
sandbox prices across several countries.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import smsgic_analytics as sa

# Example mobile numbers (libphonenumber's) of 20 countries: operator rows and country defaults mixed.
EXAMPLES = ("447400123456", "37121234567", "4915123456789", "12015550123", "33612345678", "393123456789",
            "34612345678", "46701234567", "4534412345", "6581234567", "79123456789", "8613123456789",
            "918123456789", "5511961234567", "61412345678", "2348021234567", "254712123456", "819012345678",
            "522221234567", "48512345678")


def phone_numbers(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct valid numbers over 20 countries (examples with new last 5 digits), reproducibly."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < count:
        example = rng.choice(EXAMPLES)
        out[example[:-5] + f"{rng.randrange(100_000):05d}"] = None
    return list(out)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def make_client(sandbox_url: str, cache_dir: Path) -> Iterator[Callable[..., sa.Client]]:
    clients: list[sa.Client] = []

    def make(token: str | None = "demo-token", url: str | None = None, **overrides: Any) -> sa.Client:
        overrides.setdefault("backoff_factor", 0.01)  # retries are exercised, not waited for
        overrides.setdefault("timeout", 10.0)
        overrides.setdefault("cache_dir", cache_dir)
        client = sa.connect(token=token, base_url=url or sandbox_url, **overrides)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
