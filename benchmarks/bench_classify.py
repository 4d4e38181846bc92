"""Benchmark: numbering.classify() against the per-number phonenumbers loop.

Generates N valid mobile numbers with ``sample_numbers(N, seed=0)`` (the campaign mix:
GB, DE, FR, US, ES, IT, NL, LV, DK, SG, ... plus a long tail), shuffled as a real
audience is.

    .venv/bin/python benchmarks/bench_classify.py [--n 1000000] [--baseline-sample 50000]

Baseline: the loop an analyst would write, ``parse("+" + n)``, ``region_code_for_number``
and ``carrier.name_for_number(.., "en")`` per number, timed on a random sample of
--baseline-sample numbers and scaled to N (the report says so).  In audience order the loop
also pays for phonenumbers' regexes falling out of ``re``'s cache; the same loop over the
sample sorted by number (warm cache, the loop's best case) is reported too.  The same sample gives the
agreement: share of valid numbers with the same region and the same operator.
``classify`` is timed with its tables already loaded (best of 3); the one-off table build
and the cache-file load are reported apart.  Memory: peak bytes allocated during one
``classify`` call, by tracemalloc (numpy buffers included; the input list is not counted).
Targets: >= 30x faster, >= 99.5 % agreement, < 500 MB.  Writes its ``## bench_classify``
section of benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import resource
import sys
import tempfile
import time
import tracemalloc

import numpy as np
import pandas as pd
import phonenumbers
from phonenumbers import carrier

from smsgic_analytics.numbers import classify as numbering
from smsgic_analytics.numbers import tables as numbering_tables

TARGET_SPEEDUP = 30.0
TARGET_AGREEMENT = 0.995
TARGET_MEMORY_MB = 500.0
from results import write_section  # benchmarks/ is on sys.path when run as a script

SECTION = "bench_classify"


def baseline(numbers: list[str]) -> list[tuple[bool, str | None, str | None]]:
    """The per-number loop: (valid, region, operator)."""
    out = []
    for digits in numbers:
        try:
            num = phonenumbers.parse("+" + digits)
        except phonenumbers.NumberParseException:
            out.append((False, None, None))
            continue
        region = phonenumbers.region_code_for_number(num)
        out.append((phonenumbers.is_valid_number(num), region, carrier.name_for_number(num, "en") or None))
    return out


def loop_only(numbers: list[str]) -> None:
    """What is timed as the baseline: parse + region + carrier name, nothing else."""
    for digits in numbers:
        num = phonenumbers.parse("+" + digits)
        phonenumbers.region_code_for_number(num)
        carrier.name_for_number(num, "en")




def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="numbers to classify (default 1,000,000)")
    parser.add_argument("--baseline-sample", type=int, default=50_000, help="numbers the loop is timed on")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        numbering.load_tables(cache)
        build_s = time.perf_counter() - t0
        numbering_tables._MEMORY.clear()
        t0 = time.perf_counter()
        numbering.load_tables(cache)
        load_s = time.perf_counter() - t0
    numbering.load_tables()  # the default cache, as classify() uses it

    t0 = time.perf_counter()
    numbers = numbering.sample_numbers(args.n, seed=0)
    gen_s = time.perf_counter() - t0
    print(f"{args.n:,} numbers generated in {gen_s:.1f} s; python {platform.python_version()}, "
          f"phonenumbers {phonenumbers.__version__}, pandas {pd.__version__}, numpy {np.__version__}")

    sample_idx = sorted(random.Random(1).sample(range(args.n), min(args.baseline_sample, args.n)))
    sample = [numbers[i] for i in sample_idx]
    t0 = time.perf_counter()
    loop_only(sample)
    loop_s = time.perf_counter() - t0
    scaled = loop_s * args.n / len(sample)
    # The same loop over the sample sorted by number: phonenumbers' compiled regexes then stay
    # in re's 512-entry cache (a friendlier order than any real audience).
    t0 = time.perf_counter()
    loop_only(sorted(sample))
    sorted_scaled = (time.perf_counter() - t0) * args.n / len(sample)
    note = "all numbers" if len(sample) == args.n else f"{len(sample):,}-number sample scaled to {args.n:,}"

    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        frame = numbering.classify(numbers)
        runs.append(time.perf_counter() - t0)
    vec_s = min(runs)

    formatted = [f"+{d[:2]} {d[2:6]}-{d[6:]}" for d in numbers]  # the same numbers as people type them
    t0 = time.perf_counter()
    numbering.classify(formatted)
    fmt_s = time.perf_counter() - t0
    del formatted

    ref = baseline(sample)
    got = frame.iloc[sample_idx]
    valid_ref = [v for v, _, _ in ref]
    pairs = [
        (r, o, gr if isinstance(gr, str) else None, go if isinstance(go, str) else None)
        for (v, r, o), gr, go in zip(ref, got["region"].tolist(), got["operator"].tolist())
        if v
    ]
    region_agree = sum(r == gr for r, _, gr, _ in pairs) / len(pairs)
    operator_agree = sum(o == go for _, o, _, go in pairs) / len(pairs)
    both_agree = sum(r == gr and o == go for r, o, gr, go in pairs) / len(pairs)
    valid_agree = float(np.mean(np.array(valid_ref) == got["valid"].to_numpy()))

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    numbering.classify(numbers)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20

    ratio = scaled / vec_s
    sorted_ratio = sorted_scaled / vec_s
    ok = ratio >= TARGET_SPEEDUP and both_agree >= TARGET_AGREEMENT and peak_mb < TARGET_MEMORY_MB
    print(f"tables: built in {build_s:.2f} s, loaded from the cache file in {load_s:.3f} s")
    print(f"baseline loop (parse + region + carrier name): {scaled:.1f} s ({note})")
    print(f"classify(): {vec_s:.3f} s (best of 3: {', '.join(f'{r:.3f}' for r in runs)})")
    print(f"speed-up: {ratio:.1f}x (target >= {TARGET_SPEEDUP:.0f}x)")
    print(f"baseline loop over the sample sorted by number (warm regex cache): {sorted_scaled:.1f} s -> {sorted_ratio:.1f}x")
    print(f"classify() of the same numbers typed as '+44 7717-123456': {fmt_s:.3f} s")
    print(f"agreement on {len(pairs):,} valid numbers: region {region_agree:.4%}, operator {operator_agree:.4%}, "
          f"both {both_agree:.4%}; validity {valid_agree:.4%} (target >= {TARGET_AGREEMENT:.1%})")
    print(f"peak memory allocated by classify(): {peak_mb:.1f} MiB (tracemalloc; target < {TARGET_MEMORY_MB:.0f} MB); "
          f"process max RSS {rss_after / 1024:.0f} MiB (was {rss_before / 1024:.0f} MiB before that call)")
    print("PASS" if ok else "FAIL")

    if not args.no_write:
        write_section(
            SECTION,
            f"""
Run {dt.date.today().isoformat()} on Python {platform.python_version()}, phonenumbers {phonenumbers.__version__},
pandas {pd.__version__}, numpy {np.__version__}
(`.venv/bin/python benchmarks/bench_classify.py --n {args.n} --baseline-sample {args.baseline_sample}`).
Input: `sample_numbers({args.n}, seed=0)` (valid mobile numbers, campaign mix + long tail), generated in {gen_s:.1f} s.

| measure | value |
|---|---|
| baseline: `parse` + `region_code_for_number` + `carrier.name_for_number` per number | {scaled:.1f} s ({note}) |
| `classify(numbers)`, tables loaded (best of 3) | {vec_s:.3f} s |
| speed-up | **{ratio:.1f}x** (target >= {TARGET_SPEEDUP:.0f}x: {'met' if ratio >= TARGET_SPEEDUP else 'NOT met'}) |
| baseline on the sample sorted by number (phonenumbers' regexes stay in `re`'s cache) | {sorted_scaled:.1f} s: speed-up {sorted_ratio:.1f}x |
| same numbers formatted `+44 7717-123456` | {fmt_s:.3f} s |
| agreement with the loop on {len(pairs):,} valid numbers: region / operator / both | {region_agree:.4%} / {operator_agree:.4%} / **{both_agree:.4%}** (target >= {TARGET_AGREEMENT:.1%}) |
| agreement on validity | {valid_agree:.4%} |
| peak memory allocated by one `classify` call (tracemalloc) | **{peak_mb:.1f} MiB** (target < {TARGET_MEMORY_MB:.0f} MB) |
| process max RSS after the run | {rss_after / 1024:.0f} MiB |
| one-off table build / load from the cache file | {build_s:.2f} s / {load_s:.3f} s |
"""
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
