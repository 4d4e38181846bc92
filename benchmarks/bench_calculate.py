"""Benchmark: client.calculate() over a big audience against a sandbox with a per-minute limit.

    .venv/bin/python benchmarks/bench_calculate.py [--numbers 200000] [--chunk-size 100]
        [--limit 600] [--workers 8] [--no-write]

Starts the sandbox as a subprocess (its own GIL) with ``--calculate-per-minute LIMIT``, then
quotes NUMBERS distinct recipients in chunks of CHUNK_SIZE (NUMBERS / CHUNK_SIZE calculate
requests) through the real client, fresh cache, same LIMIT on the client.  Reported, against
baselines measured in the same run:

* rate limiter: calculate requests per minute reached vs the configured LIMIT (target >= 90 %),
  the most requests seen in any 60 s window (must stay <= LIMIT), 429 answers met inside the
  client and errors surfaced to the caller (target: 0), numbers lost or duplicated (target: 0);
* cache: the same quote again, now answered by the cache, vs the first run (target >= 50x).

Why these defaults: the client's own 1,000-number chunks would make only 200 requests, which
never meet a limit.  200,000 numbers in 100-number chunks = 2,000 requests; at 600/min the
limiter, not the server, sets the pace (~3.4 min), while the cached re-run still has 2,000
entries to read.  At the documented 3,000/min (``--limit 3000 --chunk-size 50``: 4,000 requests,
~80 s) the rate result is the same, but the first run is too short for a 50x cache ratio: a
cache hit costs ~0.6 ms inside requests/requests-cache, so 4,000 of them take ~2.5 s.
Writes the ``## bench_calculate`` section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from pathlib import Path

from results import write_section  # benchmarks/ is on sys.path when run as a script

import smsgic_analytics as sa
from smsgic_analytics.core import spec

RATE_TARGET = 0.90
CACHE_TARGET = 50.0

SECTION = "bench_calculate"
TOKEN = "bench-token"
# libphonenumber's example mobile numbers of 20 countries; the last 6 digits are varied.
EXAMPLES = ("447400123456", "37121234567", "4915123456789", "12015550123", "33612345678", "393123456789",
            "34612345678", "46701234567", "4534412345", "6581234567", "79123456789", "8613123456789",
            "918123456789", "5511961234567", "61412345678", "2348021234567", "254712123456", "819012345678",
            "522221234567", "48512345678")


def audience(count: int, seed: int = 0) -> list[str]:
    """``count`` distinct valid numbers spread over 20 countries, the same on every run."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < count:
        example = rng.choice(EXAMPLES)
        out[example[:-6] + f"{rng.randrange(1_000_000):06d}"] = None
    return list(out)


def start_sandbox(db: Path, limit: int) -> tuple[subprocess.Popen, str]:
    """``smsgic-analytics sandbox`` in a subprocess on a free port; returns it and its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "smsgic_analytics.lab.cli", "sandbox", "--host", "127.0.0.1", "--port", "0",
         "--db", str(db), "--token", TOKEN, "--calculate-per-minute", str(limit), "--clock", "real",
         "--log-level", "warning"],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"the sandbox did not start (printed {url!r})")
    return proc, url


def max_in_window(times: list[float], window: float = 60.0) -> int:
    """The most events inside any half-open window of ``window`` seconds."""
    times = sorted(times)
    return max((i - bisect_left(times, t - window + 1e-9) + 1 for i, t in enumerate(times)), default=0)




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=200_000, help="recipients to quote (default 200,000)")
    parser.add_argument("--chunk-size", type=int, default=100, help="numbers per calculate request (default 100)")
    parser.add_argument("--limit", type=int, default=600,
                        help=f"calculate requests per minute, server and client (default 600; the API's is "
                             f"{spec.CALCULATE_PER_MINUTE})")
    parser.add_argument("--workers", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)

    numbers = audience(args.numbers)
    requests_needed = -(-args.numbers // args.chunk_size)
    print(f"{args.numbers:,} numbers in chunks of {args.chunk_size} = {requests_needed:,} calculate requests; "
          f"limit {args.limit:,}/min (server and client); {args.workers} workers; "
          f"expected >= {requests_needed / args.limit:.1f} min")

    with tempfile.TemporaryDirectory(prefix="bench-calculate-") as tmp:
        proc, url = start_sandbox(Path(tmp) / "sandbox.sqlite", args.limit)
        try:
            client = sa.connect(token=TOKEN, base_url=url, cache_dir=Path(tmp) / "cache",
                                calculate_per_minute=args.limit)
            network: list[float] = []  # when each calculate answer came over the wire
            statuses: dict[int, int] = {}

            def on_response(response, *a, **kw):
                # requests and requests-cache both dispatch response hooks: count each answer once
                if getattr(response, "_bench_seen", False):
                    return
                response._bench_seen = True
                if not getattr(response, "from_cache", False) and response.request.url.endswith(spec.CALCULATE):
                    network.append(time.monotonic())
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            client.http.hooks["response"].append(on_response)
            client.rates()  # the country list, outside the timing
            surfaced = 0
            t0 = time.monotonic()
            try:
                first = client.calculate("Benchmark message", numbers, progress=sys.stderr.isatty(), chunk_size=args.chunk_size,
                                         workers=args.workers)
            except sa.SMSgicError as exc:  # a 429 or anything else reaching the caller
                surfaced += 1
                print(f"ERROR surfaced to the caller: {exc!r}")
                raise
            first_seconds = time.monotonic() - t0
            span = (max(network) - t0) if network else first_seconds
            t1 = time.monotonic()
            second = client.calculate("Benchmark message", numbers, progress=False, chunk_size=args.chunk_size,
                                      workers=args.workers)
            second_seconds = time.monotonic() - t1
            info = client.cache_info()
            client.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    calc_requests = len(network)
    per_minute = calc_requests / span * 60
    worst_window = max_in_window(network)
    got = first.numbers["number"].tolist()
    lost = len(set(numbers) - set(got))
    duplicated = len(got) - len(set(got))
    identical = got == second.numbers["number"].tolist() and first.total == second.total
    rate_ok = per_minute >= RATE_TARGET * args.limit and worst_window <= args.limit
    clean = surfaced == 0 and lost == 0 and duplicated == 0 and statuses.get(429, 0) == 0
    speedup = first_seconds / second_seconds

    lines = [
        f"- run: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, python {platform.python_version()}, "
        f"sandbox in a subprocess on 127.0.0.1",
        f"- chosen: {args.numbers:,} numbers, chunks of {args.chunk_size} -> {requests_needed:,} calculate requests, "
        f"limit {args.limit:,}/min (server and client), {args.workers} workers",
        f"- first run (network): {first_seconds:.1f} s, {calc_requests:,} calculate requests "
        f"(HTTP statuses {dict(sorted(statuses.items()))})",
        f"- rate reached: **{per_minute:,.0f}/min = {per_minute / args.limit:.1%} of the limit** (target >= "
        f"{RATE_TARGET:.0%}); most requests in any 60 s window: {worst_window:,} (limit {args.limit:,})",
        f"- 429s met inside the client: {statuses.get(429, 0)}; errors surfaced to the caller: {surfaced}; "
        f"numbers lost: {lost}; duplicated: {duplicated}; quote total {first.total} {first.currency}",
        f"- second run (cache): {second_seconds:.2f} s -> **{speedup:,.0f}x faster** (target >= {CACHE_TARGET:.0f}x); "
        f"same numbers and total: {identical}; cache hits/misses {info.hits:,}/{info.misses:,}",
        f"- verdict: rate {'PASS' if rate_ok and clean else 'FAIL'}, cache {'PASS' if speedup >= CACHE_TARGET and identical else 'FAIL'}",
    ]
    report = "\n".join(lines)
    print(report)
    if not args.no_write:
        write_section(SECTION, report)
    return 0 if rate_ok and clean and speedup >= CACHE_TARGET and identical else 1


if __name__ == "__main__":
    sys.exit(main())
