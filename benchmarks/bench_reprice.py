"""Benchmark: what-if re-pricing of a 1,000,000-recipient quote, against a per-row Decimal loop.

Builds a Quote locally (no server): N unique numbers spread over the sandbox's world rate
card (seed 0) with realistic skew, each row with its destination and exact Decimal rate, as
``client.calculate`` would return them for a 1-part text.  Then times
``quote.reprice(message=NEW_TEXT)`` (a 3-part UCS-2 text), best of ``--rounds``.

    .venv/bin/python benchmarks/bench_reprice.py [--n 1000000] [--baseline-sample 50000] [--rounds 3]

Baseline: the obvious per-row Python loop -- ``total = rate * sms`` in Decimal per row, summed
into the subtotal and into per-(destination, rate) groups, then the new numbers and
destinations frames built -- timed on a random sample and scaled to N.  Both give the same
subtotal to the last digit on the sample (checked), and the full re-pricing is checked
against ``sum(rates) * sms``.  Also reported: peak memory allocated by one reprice call
(tracemalloc) and a template re-pricing (one text per recipient) for scale.
Target: reprice(message=...) of 1,000,000 recipients < 1 s.  Writes the ``## bench_reprice``
section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import resource
import sys
import time
import tracemalloc
from decimal import Decimal

import numpy as np
import pandas as pd

from smsgic_analytics.pricing.quote import DESTINATIONS_COLUMNS, NUMBERS_COLUMNS, Quote
from smsgic_analytics.sandbox.ratecard import RateCard
from smsgic_analytics.text.segments import segments

TARGET_SECONDS = 1.0
from results import write_section  # benchmarks/ is on sys.path when run as a script

SECTION = "bench_reprice"
OLD_TEXT = "Flash sale today only: 20% off everything in store. Reply STOP to opt out."
NEW_TEXT = "Grüße aus Riga — 20 % Rabatt auf alles, nur heute! Antworte STOP zum Abbestellen. " * 2


def build_quote(n: int, seed: int = 0) -> Quote:
    """A 1-part quote for n numbers over the rate card, built the way Quote.build lays it out."""
    card = RateCard.for_seed(0)
    rows = card.rows
    rng = np.random.default_rng(seed)
    weights = rng.pareto(1.2, len(rows)) + 0.01  # a few destinations carry most numbers
    pick = rng.choice(len(rows), size=n, p=weights / weights.sum())
    dest = np.array([f"{r.country} {r.operator}" if r.operator else f"{r.country} " for r in rows], dtype=object)
    rate = np.array([r.rate for r in rows], dtype=object)  # shared Decimal objects, as parsed JSON gives
    operator = np.array([r.operator for r in rows], dtype=object)
    country = np.array([r.country for r in rows], dtype=object)
    numbers = pd.DataFrame({
        "number": pd.Series((10**11 + np.arange(n)).astype(str), dtype="string"),
        "destination": pd.Series(dest[pick], dtype="string"),
        "country": pd.Series(country[pick], dtype="category"),
        "operator": pd.Series(operator[pick], dtype="string"),
        "sms": np.ones(n, dtype=np.int64),
        "rate": pd.Series(rate[pick], dtype=object),
        "total": pd.Series(rate[pick], dtype=object),
    }, columns=NUMBERS_COLUMNS)
    counts = np.bincount(pick, minlength=len(rows))
    # Quote.build's order: biggest total first, then destination, then price
    used = sorted(np.flatnonzero(counts).tolist(), key=lambda i: (-rows[i].rate * int(counts[i]), dest[i], rows[i].rate))
    destinations = pd.DataFrame({
        "destination": pd.Series(dest[used], dtype="string"),
        "country": pd.Series(country[used], dtype="category"),
        "operator": pd.Series(operator[used], dtype="string"),
        "numbers": counts[used].astype(np.int64),
        "sms_count": counts[used].astype(np.int64),
        "price": pd.Series(rate[used], dtype=object),
        "total": pd.Series([rows[i].rate * int(counts[i]) for i in used], dtype=object),
    }, columns=DESTINATIONS_COLUMNS)
    subtotal = sum(destinations["total"], Decimal(0))
    empty = pd.DataFrame({"index": [], "value": [], "reason": []})
    return Quote(message=OLD_TEXT, numbers=numbers, destinations=destinations, sms_count=n, subtotal=subtotal,
                 tax=Decimal(0), total=subtotal, currency="GBP", invalid=empty,
                 duplicates=pd.DataFrame({"index": [], "value": [], "number": [], "first_index": []}))


def baseline(quote: Quote, text: str) -> tuple[Decimal, pd.DataFrame, pd.DataFrame]:
    """The per-row Python loop: Decimal rate x sms per number, grouped by (destination, rate)."""
    sms = segments(text).segments
    totals: list[Decimal] = []
    subtotal = Decimal(0)
    groups: dict[tuple[str, Decimal], list] = {}
    first: dict[tuple[str, Decimal], int] = {}
    numbers = quote.numbers
    for i, (dest, rate) in enumerate(zip(numbers["destination"].tolist(), numbers["rate"].tolist())):
        total = rate * sms
        totals.append(total)
        subtotal += total
        group = groups.setdefault((dest, rate), [0, 0, Decimal(0)])
        first.setdefault((dest, rate), i)
        group[0] += 1
        group[1] += sms
        group[2] += total
    new_numbers = numbers.assign(sms=[sms] * len(totals), total=pd.Series(totals, index=numbers.index, dtype=object))
    keys = sorted(groups, key=lambda k: (-groups[k][2], k[0], k[1]))
    at = [first[k] for k in keys]
    destinations = pd.DataFrame({
        "destination": numbers["destination"].iloc[at].reset_index(drop=True),
        "country": numbers["country"].iloc[at].reset_index(drop=True),
        "operator": numbers["operator"].iloc[at].reset_index(drop=True),
        "numbers": [groups[k][0] for k in keys], "sms_count": [groups[k][1] for k in keys],
        "price": pd.Series([k[1] for k in keys], dtype=object),
        "total": pd.Series([groups[k][2] for k in keys], dtype=object),
    })
    return subtotal, new_numbers, destinations


def sample_quote(quote: Quote, size: int, seed: int = 1) -> Quote:
    rows = np.sort(np.random.default_rng(seed).choice(len(quote.numbers), size=min(size, len(quote.numbers)),
                                                      replace=False))
    numbers = quote.numbers.iloc[rows].reset_index(drop=True)
    return Quote(message=quote.message, numbers=numbers, destinations=quote.destinations.iloc[:0],
                 sms_count=len(numbers), subtotal=sum(numbers["total"], Decimal(0)), tax=Decimal(0),
                 total=sum(numbers["total"], Decimal(0)), currency=quote.currency, invalid=quote.invalid,
                 duplicates=quote.duplicates)


def best(fn, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--baseline-sample", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    quote = build_quote(args.n)
    built = time.perf_counter() - start
    parts = segments(NEW_TEXT).segments
    print(f"quote of {args.n:,} numbers over {len(quote.destinations)} destinations built in {built:.1f} s; "
          f"new text: {segments(NEW_TEXT).encoding}, {parts} parts")

    fast, what_if = best(lambda: quote.reprice(message=NEW_TEXT), args.rounds)
    same, unchanged = best(lambda: quote.reprice(message=OLD_TEXT), 1)
    assert isinstance(what_if, Quote) and isinstance(unchanged, Quote)
    exact = what_if.subtotal == sum(quote.numbers["rate"], Decimal(0)) * parts
    round_trip = (unchanged.subtotal == quote.subtotal and unchanged.numbers.equals(quote.numbers)
                  and unchanged.destinations.equals(quote.destinations))

    sample = sample_quote(quote, args.baseline_sample)
    slow_sample, (loop_subtotal, _, _) = best(lambda: baseline(sample, NEW_TEXT), 1)  # type: ignore[misc]
    slow = slow_sample * args.n / len(sample.numbers)
    agrees = sample.reprice(message=NEW_TEXT).subtotal == loop_subtotal

    names = pd.DataFrame({"name": np.random.default_rng(3).choice(["Ann", "Bartholomew-Alexander", "Zoë"], args.n)})
    template_time, _ = best(lambda: quote.reprice(template="Hi {name}! " + OLD_TEXT, data=names), 1)

    tracemalloc.start()
    quote.reprice(message=NEW_TEXT)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ratio = slow / fast
    ok = fast < TARGET_SECONDS * args.n / 1_000_000 and exact and round_trip and agrees
    lines = [
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, python {platform.python_version()}, "
        f"pandas {pd.__version__}, numpy {np.__version__}, {platform.machine()}",
        f"(`.venv/bin/python benchmarks/bench_reprice.py --n {args.n} --baseline-sample {args.baseline_sample} "
        f"--rounds {args.rounds}`).",
        f"A locally built Quote of {args.n:,} numbers over {len(quote.destinations)} destinations (sandbox rate "
        f"card, seed 0), re-priced from a 1-part text to a {parts}-part UCS-2 text.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| `quote.reprice(message=...)`, best of {args.rounds} | **{fast:.3f} s** (target < {TARGET_SECONDS:g} s "
        f"for 1,000,000: {'met' if fast < TARGET_SECONDS * args.n / 1_000_000 else 'NOT met'}) |",
        f"| baseline: per-row Decimal loop + frames ({len(sample.numbers):,}-row sample scaled to {args.n:,}) | "
        f"{slow:.2f} s |",
        f"| speed-up | **{ratio:.1f}x** |",
        f"| same text (round trip) | {same:.3f} s; numbers, destinations and totals identical: "
        f"{'yes' if round_trip else 'NO'} |",
        f"| template `Hi {{name}}! ...` (one text per recipient, segment_counts) | {template_time:.3f} s |",
        f"| subtotal = Σ rate x {parts} exactly / equals the loop's on the sample | {'yes' if exact else 'NO'} / "
        f"{'yes' if agrees else 'NO'} ({what_if.subtotal} GBP) |",
        f"| peak memory allocated by one reprice (tracemalloc) | {peak / 2**20:.1f} MiB |",
        f"| process max RSS after the run | {rss:.0f} MiB |",
        "",
        f"Result: {'PASS' if ok else 'FAIL'}.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
