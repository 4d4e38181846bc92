"""Benchmark: ``sa.compare_copies`` of 3 message variants on a 1,000,000-row audience.

    .venv/bin/python benchmarks/bench_copies.py [--n 1000000] [--loop-sample 20000] [--rounds 1]

Audience: N rows (default 1,000,000) of E.164 numbers over the world (the sandbox's numbering
sample, 20,000 distinct prefixes with the last 3 digits varied: ~95 % distinct numbers, the rest
duplicates), first names from a list of 12 (some not GSM-7); rates: the sandbox card (seed 0).
Variants: a ``{first_name}`` template with a curly apostrophe and a dash (UCS-2), a plain UCS-2
text with an ellipsis, and a 2-part GSM-7 text -- each also priced as its smart-encoded rewrite.

Baselines, measured in the same run, each giving the same costs (checked):

* per-row loop: the numbers placed once (the package's ``classify`` + rate lookup, not timed),
  then for every variant and every row ``segments(text)`` x the row's rate, summed in Decimal --
  timed on ``--loop-sample`` rows and scaled to N;
* vectorised pandas: what a competent pandas user would write -- the numbers placed and priced
  once (``sa.estimate``), the first row of each number kept (``drop_duplicates``) and merged
  with its rate, then per text: the template filled with vectorised string concatenation,
  ``sa.segment_counts`` of the 1,000,000 texts, and the exact cost as factorize + bincount of the
  parts per distinct rate (Decimal only per distinct rate);
* one ``sa.estimate(df["phone"], text, rates=..., data=df)`` per variant and per rewrite (the
  package's public function as it is, numbers placed again for every text).

Target: < 10 s for 1,000,000 rows x 3 variants.  Writes the ``## bench_copies`` section of
benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from decimal import Decimal

import numpy as np
import pandas as pd

import smsgic_analytics as sa
from smsgic_analytics.sandbox.ratecard import RateCard
from smsgic_analytics.text.segments import segments

sys.path.insert(0, os.path.dirname(__file__))
from results import write_section  # noqa: E402

SECTION = "bench_copies"
TARGET_SECONDS = 10.0
NAMES = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Femi", "Zo\u00eb", "\u0141ukasz", "Ngozi", "O'Brien",
         "Sigr\u00fan", "Mar\u00eda"]
VARIANTS = [
    "Hi {first_name}, it\u2019s our winter sale \u2013 30% off everything until Sunday. Reply STOP to opt out.",
    "Last chance\u2026 the winter sale ends tonight at midnight: 30% off everything, in store and online!",
    "Winter sale: 30% off everything in store and online until Sunday night. Bring a friend and both of you "
    "get a free gift. Reply STOP to opt out.",
]


def build(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    base = np.array(sa.sample_numbers(20_000, seed=seed), dtype=object)
    stems = pd.Series(base[rng.integers(0, len(base), n)]).str[:-3]
    tails = pd.Series(rng.integers(0, 1000, n)).map("{:03d}".format)
    audience = pd.DataFrame({"phone": (stems + tails).to_numpy(object),
                             "first_name": np.array(NAMES, dtype=object)[rng.integers(0, len(NAMES), n)]})
    card = RateCard.for_seed(0).frame()[["mcc", "mnc", "country", "rate"]].assign(currency="GBP")
    return audience, card


def timed(fn, rounds: int):
    best, out = float("inf"), None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def per_row_loop(audience: pd.DataFrame, rates: pd.DataFrame, texts: list[str]) -> tuple[float, list[Decimal]]:
    """Seconds and costs of the per-row loop over ``audience`` (its numbers placed beforehand, untimed)."""
    est = sa.estimate(audience["phone"].reset_index(drop=True), ".", rates=rates)
    first = est.placed  # one row per distinct placed number, in first-seen order
    rate_of = dict(zip(first["number"].astype(str), first["rate_expected"]))
    digits = audience["phone"].astype(str).tolist()
    names = audience["first_name"].tolist()
    start = time.perf_counter()
    costs = []
    for text in texts:
        seen: set[str] = set()
        total = Decimal(0)
        for number, name in zip(digits, names):
            if number in seen or number not in rate_of:
                continue
            seen.add(number)
            body = text.replace("{first_name}", name) if "{first_name}" in text else text
            total += rate_of[number] * segments(body).segments
        costs.append(total)
    return time.perf_counter() - start, costs


def vectorised_pandas(audience: pd.DataFrame, rates: pd.DataFrame, texts: list[str]) -> list[Decimal]:
    est = sa.estimate(audience["phone"], ".", rates=rates)
    people = audience.assign(number=audience["phone"].sms.normalise()).dropna(subset=["number"])
    people = people.drop_duplicates("number").merge(
        est.placed[["number", "rate_expected"]].astype({"number": "string"}), on="number")
    codes, distinct = pd.factorize(people["rate_expected"])
    out = []
    for text in texts:
        if "{first_name}" in text:
            head, tail = text.split("{first_name}", 1)
            filled = head + people["first_name"].astype(str) + tail
        else:
            filled = pd.Series([text] * len(people))
        parts = sa.segment_counts(filled)["segments"].to_numpy()
        per_rate = np.bincount(codes, weights=parts, minlength=len(distinct)).astype(np.int64)
        out.append(sum((Decimal(r) * int(k) for r, k in zip(distinct, per_rate)), Decimal(0)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--loop-sample", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    audience, rates = build(args.n)
    print(f"audience: {len(audience):,} rows, {audience['phone'].nunique():,} distinct numbers "
          f"(built in {time.perf_counter() - t0:.1f} s)")

    ours_s, compared = timed(lambda: sa.compare_copies(audience, VARIANTS, rates=rates), args.rounds)
    rewrites = [r for r in compared["rewrite"] if r is not None]
    print(f"compare_copies: {ours_s:.2f} s for {args.n:,} rows x {len(VARIANTS)} variants "
          f"(+ {len(rewrites)} rewrites)")

    competent_s, competent_costs = timed(lambda: vectorised_pandas(audience, rates, [*VARIANTS, *rewrites]),
                                         args.rounds)

    def vectorised() -> list[Decimal]:
        out = []
        for text in [*VARIANTS, *rewrites]:
            data = audience if "{" in text else None
            out.append(sa.estimate(audience["phone"], text, rates=rates, data=data).totals.expected)
        return out

    pandas_s, pandas_costs = timed(vectorised, args.rounds)
    ours_costs = [*compared["cost"], *[c for c, r in zip(compared["rewrite_cost"], compared["rewrite"]) if r is not None]]
    same_pandas = pandas_costs == ours_costs
    same_competent = competent_costs == ours_costs
    sample = audience.iloc[: args.loop_sample]
    loop_sample_s, loop_costs = per_row_loop(sample, rates, [*VARIANTS, *rewrites])
    small = sa.compare_copies(sample, VARIANTS, rates=rates)
    same_loop = loop_costs == [*small["cost"], *[c for c, r in zip(small["rewrite_cost"], small["rewrite"])
                                                  if r is not None]]
    loop_s = loop_sample_s * args.n / len(sample)

    print(f"vectorised pandas baseline (priced once, segment_counts + bincount per text): {competent_s:.2f} s -> "
          f"{competent_s / ours_s:.1f}x; same costs: {same_competent}")
    print(f"sa.estimate per text: {pandas_s:.2f} s -> {pandas_s / ours_s:.1f}x; same costs: {same_pandas}")
    print(f"per-row loop baseline: {loop_sample_s:.2f} s on {len(sample):,} rows -> {loop_s:.1f} s scaled to "
          f"{args.n:,} -> {loop_s / ours_s:.1f}x; same costs on the sample: {same_loop}")
    met = ours_s < TARGET_SECONDS
    print(f"target < {TARGET_SECONDS:.0f} s: {'met' if met else 'NOT met'}")
    for row in compared.itertuples():
        print(f"  {row.variant[:50]!r}: {row.encoding}, {row.sms:,} SMS, {row.cost} GBP; rewrite saves {row.rewrite_saves}")

    if args.no_write:
        return
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = f"""
Run {now} on Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__},
{os.cpu_count()} CPUs (shared with other work: timings are indicative)
(`python benchmarks/bench_copies.py --n {args.n} --loop-sample {args.loop_sample} --rounds {args.rounds}`).
Audience: {args.n:,} rows, {audience['phone'].nunique():,} distinct numbers over the world, 12 first names;
3 variants (a UCS-2 `{{first_name}}` template, a UCS-2 text, a 2-part GSM-7 text), each also priced as its
smart-encoded rewrite ({len(rewrites)} rewrites); rates: the sandbox card (seed 0).

| path | seconds | vs compare_copies | same costs |
|---|---|---|---|
| `sa.compare_copies` (numbers placed once, parts per variant) | {ours_s:.2f} | 1.0x | -- |
| vectorised pandas: priced once, then per text vectorised fill + `segment_counts` + factorize/bincount | {competent_s:.2f} | {competent_s / ours_s:.1f}x slower | {same_competent} |
| `sa.estimate(..., data=df)` per text (numbers placed again each time) | {pandas_s:.2f} | {pandas_s / ours_s:.1f}x slower | {same_pandas} |
| per-row loop (`segments` x rate per row, Decimal), {len(sample):,}-row sample scaled | {loop_s:.1f} | {loop_s / ours_s:.1f}x slower | {same_loop} |

Target < {TARGET_SECONDS:.0f} s for {args.n:,} rows x 3 variants: **{'met' if met else 'not met'}**.
"""
    write_section(SECTION, body)
    print("wrote", SECTION, "to benchmarks/RESULTS.md")


if __name__ == "__main__":
    main()
