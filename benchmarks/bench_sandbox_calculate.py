"""Benchmark: one 100,000-recipient POST /sendings/calculate against the sandbox.

    .venv/bin/python benchmarks/bench_sandbox_calculate.py [--numbers 100000] [--chunk 1000] [--no-write]

Starts an in-process sandbox (rate limit lifted) and prices NUMBERS seeded recipients from a
dozen countries (with duplicates and unplaceable numbers) over real HTTP.  Reported against
baselines measured in the same run:

* scaling: one request of NUMBERS vs the same numbers in requests of CHUNK (target: the one
  big request costs <= 1.0x the chunked total, i.e. no super-linear cost per number);
* overhead: the big request end to end vs the floor of merely encoding + decoding the same
  JSON answer with the standard library (target <= 10x).

Both runs' totals must agree exactly (Decimal).  Writes the ``## bench_sandbox_calculate``
section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import random
import sys
import time
from decimal import Decimal

import requests

from smsgic_analytics.core import spec
from smsgic_analytics.sandbox import running

SCALING_TARGET = 1.0
OVERHEAD_TARGET = 10.0
from results import write_section  # benchmarks/ is on sys.path when run as a script

SECTION = "bench_sandbox_calculate"
PREFIXES = ["4591", "3712", "4479", "1202", "7916", "6598", "3361", "9198", "2348", "5067", "8613", "99"]
MESSAGE = "Summer sale: 20% off everything this weekend only, see the shop for details. Reply STOP to opt out."


def recipients(n: int) -> list[str]:
    rng = random.Random(7)
    unique = [rng.choice(PREFIXES) + str(rng.randrange(10**6, 10**7)) for _ in range(n - n // 100)]
    return unique + unique[: n // 100]


def quote(session: requests.Session, url: str, numbers: list[str]) -> tuple[float, dict, str]:
    start = time.perf_counter()
    response = session.post(url + spec.CALCULATE, json={"message": MESSAGE, "recipients": numbers}, timeout=600)
    response.raise_for_status()
    data = response.json(parse_float=Decimal)
    return time.perf_counter() - start, data["calculate"], response.text




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=1_000)
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)
    numbers = recipients(args.numbers)

    with running(calculate_per_minute=10**9) as url, requests.Session() as session:
        session.headers["Authorization"] = "Bearer demo-token"
        quote(session, url, numbers[:100])  # warm up: numbering tables, rate card, connection
        big_seconds, big, raw = quote(session, url, numbers)
        chunked_seconds, chunk_total, chunk_count = 0.0, Decimal(0), 0
        for i in range(0, len(numbers), args.chunk):
            seconds, part, _ = quote(session, url, numbers[i : i + args.chunk])
            chunked_seconds += seconds
            chunk_total += part["info"]["total"]
            chunk_count += sum(len(d["numbers"]) for d in part["destinations"])

    start = time.perf_counter()
    json.dumps(json.loads(raw))
    floor_seconds = time.perf_counter() - start

    count = sum(len(d["numbers"]) for d in big["destinations"])
    agree = count == chunk_count == len(numbers) and big["info"]["total"] == chunk_total
    scaling = big_seconds / chunked_seconds
    overhead = big_seconds / floor_seconds
    ok = agree and scaling <= SCALING_TARGET and overhead <= OVERHEAD_TARGET
    report = f"""
Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, python {platform.python_version()}, {platform.machine()}.
{len(numbers):,} recipients ({len(numbers) // 100:,} duplicates), message of {len(MESSAGE)} GSM-7 characters.

| measure | seconds | ratio | target |
|---|---|---|---|
| one request of {len(numbers):,} | {big_seconds:.3f} | | |
| baseline: {len(numbers) // args.chunk} requests of {args.chunk:,} | {chunked_seconds:.3f} | big / chunked = {scaling:.2f} | <= {SCALING_TARGET} |
| floor: json encode + decode of the answer ({len(raw) / 1e6:.1f} MB) | {floor_seconds:.3f} | big / floor = {overhead:.1f} | <= {OVERHEAD_TARGET} |

Totals agree exactly (one request vs chunks): {"yes" if agree else "NO"} ({big["info"]["total"]} GBP).
Result: {"PASS" if ok else "FAIL"}.
"""
    print(report)
    if not args.no_write:
        write_section(SECTION, report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
