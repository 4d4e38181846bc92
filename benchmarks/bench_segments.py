"""Benchmark: segment_counts() against the two loops an analyst would write instead.

Two campaigns of N texts (seeded, so every run sees the same data):

- *repeated*: ten templates filled with first names (a Zipf-like mix, some accented) and a
  date, city, promo code or price in € from small pools; some templates have curly quotes
  or emoji (skin tones, flags, ZWJ), some run to 2-3 parts with extension characters near
  part boundaries.  Like most campaigns the column is full of duplicates.
- *distinct*: every text personalised with the recipient's own order reference, amount and
  discount, so no two texts are equal: mostly GSM-7, some with €, curly quotes, emoji or
  accented letters, lengths spanning 1-3 parts.

    .venv/bin/python benchmarks/bench_segments.py [--n 1000000] [--baseline-sample 100000] [--rounds 3]

Baselines, timed in the same run:

1. the per-row loop ``[segments(t) for t in texts]``, timed on a random 100,000-row sample
   and scaled to N (``--baseline-sample 0`` times all rows);
2. the unique-map an analyst writes with pandas, over all rows:
   ``u = s.unique(); lut = {t: segments(t) for t in u}; s.map(lut)``.

Each side runs in interleaved rounds so a busy machine slows all alike; each side's best
round counts.  ``segment_counts`` is timed on the column as pandas builds it (Arrow-backed
"str" when pyarrow is installed) and on the same texts as an object column of new str
objects (converted to Arrow inside the call).  The unique-map's result checks that
segment_counts gives the same encoding, segments and units as segments() on every row.
Peak memory: tracemalloc during one call (numpy and Python allocations; Arrow's own memory
pool is reported apart).  Targets: >= 20x the per-row loop on repeated texts, >= 20x the
unique-map on distinct texts.  Writes its ``## bench_segments`` section of
benchmarks/RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from results import write_section  # benchmarks/ is on sys.path when run as a script

from smsgic_analytics.text import counts as counts_module
from smsgic_analytics.text.counts import segment_counts
from smsgic_analytics.text.segments import segments

SECTION = "bench_segments"
TARGET_VS_LOOP = 20.0  # repeated texts, against the per-row loop
TARGET_VS_MAP = 20.0  # distinct texts, against the unique-map

PLAIN_NAMES = """
James Mary John Patricia Robert Jennifer Michael Linda David Sarah William Emma Thomas Olivia
Daniel Sophie George Emily Oliver Amelia Harry Isla Jack Ava Noah Mia Leo Ella Charlie Grace
Oscar Lily Henry Freya Arthur Ivy Alfie Rosie Mohammed Fatima Ali Aisha Omar Layla Yusuf Maryam
Chen Wei Li Na Priya Arjun Rahul Ananya Kwame Ama Kofi Abena Lars Ingrid Nils Astrid Jan Anna
Piotr Kasia Tomasz Ola Luca Giulia Marco Sofia Pablo Lucia Diego Carmen Hugo Alice Louis Jade
Lukas Mila Finn Hanna Ryan Chloe Adam Eva Max Nina Sam Kate Ben Lucy Tom Amy Joe Zara Dan Beth
""".split()
GSM_ACCENTED = "Chloé José Renée Björn Søren Jürgen Müller Ñico Åsa Inés Hélène Jörg".split()  # GSM's own letters
UCS2_ACCENTED = "Zoë Siobhán François Łukasz Ana-María Zoltán İlkay Dvořák Ólafur João Maëlle Çağla".split()
TEMPLATES = [
    # short GSM-7
    "Hi {name}, your order has shipped. Track it at https://shop.example/t/{code}",
    "{name}, your appointment is on {date} at 10:30. Reply STOP to opt out.",
    "Hello {name}! Our {city} store has 2-for-1 on everything this weekend. Reply STOP to opt out",
    # curly quote / dash: UCS-2 unless smart-encoded
    "Hi {name}, don’t miss our weekend sale – {code} gives 20% off everything!",
    # emoji (single, skin tone, flag, ZWJ family)
    "🎉 Happy birthday {name}! Here is €{amount} to spend with code {code} 🎁",
    "Thanks {name} 👍🏽 see you at the {date} match 🇬🇧🇫🇷",
    "{name}, family tickets 👨‍👩‍👧 are back at our {city} store.",
    # long GSM-7 (2-3 parts) with extension characters that land near boundaries
    "Dear {name}, thank you for being a loyal customer. As a thank-you we have added €{amount} "
    "to your account [valid until {date}]. Use it at checkout {{online or in store}}. "
    "Terms apply ~ see https://shop.example/terms | Questions? Reply HELP. Opt out: STOP",
    "{name}, your {city} membership renews on {date}. The fee stays at €25. "
    "Manage it at https://club.example/account \\ or call us. Ref: MEM^{city}. "
    "This message was sent to you because you are a member of Example Club.",
    # long UCS-2
    "Olá {name}! A sua encomenda {code} foi expedida e chegará a {date}. Obrigado pela preferência. "
    "Dúvidas? Responda a esta mensagem 😊",
]
TEMPLATE_WEIGHTS = [0.18, 0.14, 0.12, 0.1, 0.08, 0.05, 0.03, 0.12, 0.1, 0.08]
CITIES = ["London", "Leeds", "Bristol", "Cardiff", "Glasgow", "Belfast", "York", "Bath", "Derby", "Hull"]


def build_texts(n: int, seed: int = 20240517) -> pd.Series:
    """N personalised texts, deterministic for a seed.

    Each template is personalised with a first name (a Zipf-like mix of 130, a fifth of them
    accented) and at most two campaign fields from small pools (date, city, code, amount).
    """
    rng = np.random.default_rng(seed)
    names = PLAIN_NAMES + GSM_ACCENTED + UCS2_ACCENTED
    popularity = 1 / np.arange(1, len(names) + 1) ** 0.8
    name_ids = rng.choice(rng.permutation(len(names)), n, p=popularity / popularity.sum())
    amounts = ["5", "9.99", "10", "15", "19.99", "20", "25", "49", "50", "99"]
    codes = [f"SAVE{c}" for c in rng.integers(10, 99, 12)]
    dates = [(dt.date(2024, 6, 1) + dt.timedelta(days=d)).isoformat() for d in range(14)]
    template_ids = rng.choice(len(TEMPLATES), n, p=TEMPLATE_WEIGHTS)
    picks = {
        "amount": rng.integers(0, len(amounts), n),
        "code": rng.integers(0, len(codes), n),
        "date": rng.integers(0, len(dates), n),
        "city": rng.integers(0, len(CITIES), n),
    }
    texts = [
        TEMPLATES[t].format(name=names[i], amount=amounts[a], code=codes[c], date=dates[d], city=CITIES[y])
        for t, i, a, c, d, y in zip(template_ids, name_ids, picks["amount"], picks["code"], picks["date"], picks["city"])
    ]
    return pd.Series(texts, name="text")


# Every template carries the recipient's own {ref}: no two texts of this campaign are equal.
DISTINCT_TEMPLATES = [
    # short GSM-7
    "Hi {name}, order {ref} has shipped. Track it at https://shop.example/t/{ref}",
    "{name}, code {ref} gives you {pct}% off until {date}. Reply STOP to opt out.",
    "{name}, your balance is €{amount}. Top up at https://pay.example/{ref} before {date}.",
    # curly quote / dash: UCS-2 unless smart-encoded
    "Hi {name}, don’t forget – booking {ref} is on {date} at our {city} store.",
    # emoji (single, skin tone, flag)
    "🎉 {name}, you have won €{amount}! Claim it with code {ref} 🎁",
    "Thanks {name} 👍🏽 ticket {ref} for the {date} match is ready 🇬🇧",
    # long GSM-7 (2-3 parts) with extension characters that land near boundaries
    "Dear {name}, thank you for being a loyal customer. As a thank-you we have added €{amount} "
    "to your account [ref {ref}, valid until {date}]. Use it at checkout {{online or in store}}. "
    "Terms apply ~ see https://shop.example/terms | Questions? Reply HELP. Opt out: STOP. "
    "Thank you again from all of us.",
    "{name}, your {city} membership {ref} renews on {date} at €{amount}. "
    "Manage it at https://club.example/account \\ or call us. "
    "This message was sent to you because you are a member of Example Club.",
    # long UCS-2
    "Olá {name}! A sua encomenda {ref} de €{amount} foi expedida e chegará a {date}. "
    "Obrigado pela preferência. Dúvidas? Responda a esta mensagem 😊",
]
DISTINCT_WEIGHTS = [0.2, 0.14, 0.12, 0.1, 0.06, 0.05, 0.13, 0.12, 0.08]
REF_ALPHABET = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ23456789"))


def build_distinct_texts(n: int, seed: int = 20240518) -> pd.Series:
    """N texts, all different, deterministic for a seed: a template, a first name, and the
    recipient's own reference (8 characters, unique), amount and discount."""
    rng = np.random.default_rng(seed)
    names = PLAIN_NAMES + GSM_ACCENTED + UCS2_ACCENTED
    popularity = 1 / np.arange(1, len(names) + 1) ** 0.8
    name_ids = rng.choice(rng.permutation(len(names)), n, p=popularity / popularity.sum())
    # distinct numbers written in base 32, so distinct references
    numbers = rng.choice(len(REF_ALPHABET) ** 8, n, replace=False)
    digits = np.stack([(numbers // len(REF_ALPHABET) ** k) % len(REF_ALPHABET) for k in range(8)], axis=1)
    refs = ["".join(row) for row in REF_ALPHABET[digits].tolist()]
    cents = rng.integers(100, 250_000, n)
    pcts = rng.integers(5, 60, n)
    dates = [(dt.date(2024, 6, 1) + dt.timedelta(days=d)).isoformat() for d in range(60)]
    date_ids = rng.integers(0, len(dates), n)
    city_ids = rng.integers(0, len(CITIES), n)
    template_ids = rng.choice(len(DISTINCT_TEMPLATES), n, p=DISTINCT_WEIGHTS)
    texts = [
        DISTINCT_TEMPLATES[t].format(
            name=names[i], ref=ref, amount=f"{c // 100}.{c % 100:02d}", pct=p, date=dates[d], city=CITIES[y]
        )
        for t, i, ref, c, p, d, y in zip(template_ids, name_ids, refs, cents.tolist(), pcts.tolist(), date_ids, city_ids)
    ]
    return pd.Series(texts, name="text")


def unique_map(texts: pd.Series) -> pd.Series:
    """The fair baseline: what an analyst writes with pandas, segments() once per distinct text."""
    lut = {t: segments(t) for t in texts.unique()}
    return texts.map(lut)


@dataclass
class Race:
    """Best seconds of each side over the rounds, and segment_counts' frame."""

    loop: float  # per-row loop, scaled to all rows
    unique_map: float
    counts: float  # segment_counts on the column as built
    counts_object: float  # segment_counts on an object column of new str objects
    frame: pd.DataFrame
    mapped: pd.Series


def race(texts: pd.Series, sample_size: int, rounds: int) -> Race:
    """Interleaved rounds of every side over the same texts; each side's best round counts."""
    n = len(texts)
    sample = texts.sample(sample_size, random_state=1).tolist() if sample_size < n else texts.tolist()
    segment_counts(texts.iloc[:1000])  # one-off lookup tables, built outside the timing
    best = dict.fromkeys(["loop", "unique_map", "counts", "counts_object"], float("inf"))
    frame, mapped = pd.DataFrame(), pd.Series(dtype=object)
    for _ in range(rounds):
        start = time.perf_counter()
        for text in sample:
            segments(text)
        best["loop"] = min(best["loop"], (time.perf_counter() - start) * n / len(sample))
        start = time.perf_counter()
        mapped = unique_map(texts)
        best["unique_map"] = min(best["unique_map"], time.perf_counter() - start)
        start = time.perf_counter()
        frame = segment_counts(texts)
        best["counts"] = min(best["counts"], time.perf_counter() - start)
        as_object = texts.astype(object)  # new str objects: nothing cached in them yet
        start = time.perf_counter()
        segment_counts(as_object)
        best["counts_object"] = min(best["counts_object"], time.perf_counter() - start)
        del as_object
    return Race(**best, frame=frame, mapped=mapped)


def identical(frame: pd.DataFrame, mapped: pd.Series) -> bool:
    """Whether segment_counts agrees with segments() (the unique-map's values) on every row."""
    return (
        frame["encoding"].astype(str).tolist() == [s.encoding for s in mapped]
        and frame["segments"].tolist() == [s.segments for s in mapped]
        and frame["units"].tolist() == [s.units for s in mapped]
    )


def peak_memory(texts: pd.Series) -> tuple[float, float]:
    """(tracemalloc peak, growth of Arrow's pool peak) in MiB during one segment_counts call."""
    pool = pa.default_memory_pool()
    before = pool.max_memory()
    tracemalloc.start()
    segment_counts(texts)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, max(pool.max_memory() - before, 0) / 2**20


def routes(texts: pd.Series) -> dict[str, int]:
    """How many rows segment_counts settles arithmetically, packs with arrays, or sends to segments()."""
    array = counts_module._arrow_texts(texts)
    lengths = pc.utf8_length(array).to_numpy().astype(np.int64)
    route = counts_module._arithmetic_counts(lengths, counts_module._flag_counts(array))[3]
    names = {counts_module._SETTLED: "settled", counts_module._WALK: "walk", counts_module._SEGMENTS: "segments()"}
    return {names[r]: int((route == r).sum()) for r in sorted(names)}


def report(name: str, texts: pd.Series, result: Race, baseline_note: str) -> dict[str, str]:
    """Print one case's figures; return them as table cells for RESULTS.md."""
    vs_loop, vs_map = result.loop / result.counts, result.unique_map / result.counts
    peak, arrow_peak = peak_memory(texts)
    same = identical(result.frame, result.mapped)
    way = routes(texts)
    mix = result.frame.groupby(["encoding", "segments"], observed=True).size()
    print(f"== {name}: {len(texts):,} texts, {texts.nunique():,} distinct, column dtype {texts.dtype}")
    print(f"  baseline 1, per-row loop over segments(): {result.loop:.2f} s ({baseline_note})")
    print(f"  baseline 2, unique-map over segments(): {result.unique_map:.2f} s (all rows)")
    print(f"  segment_counts(): {result.counts:.3f} s; on an object column {result.counts_object:.3f} s")
    print(f"  speed-up: {vs_loop:.1f}x the per-row loop, {vs_map:.1f}x the unique-map")
    print(f"  peak memory: {peak:.1f} MiB (tracemalloc), Arrow pool +{arrow_peak:.1f} MiB")
    print("  routes: " + ", ".join(f"{k} {v:,}" for k, v in way.items()))
    print(f"  identical to segments() on every row: {same}")
    print("  mix (encoding/parts: rows):", ", ".join(f"{e}/{s}: {c:,}" for (e, s), c in mix.items()))
    return {
        "texts (distinct)": f"{len(texts):,} ({texts.nunique():,})",
        "baseline 1: per-row loop `[segments(t) for t in s]`": f"{result.loop:.2f} s ({baseline_note})",
        "baseline 2: unique-map `s.map({t: segments(t) for t in s.unique()})`": f"{result.unique_map:.2f} s",
        f"`segment_counts(s)`, `s` as built (`{texts.dtype}`)": f"{result.counts:.3f} s",
        "`segment_counts(s.astype(object))` (new str objects)": f"{result.counts_object:.3f} s",
        "speed-up vs per-row loop": f"{vs_loop:.1f}x",
        "speed-up vs unique-map": f"{vs_map:.1f}x",
        "speed-up vs unique-map, object column": f"{result.unique_map / result.counts_object:.1f}x",
        "peak memory of one call: tracemalloc / Arrow pool": f"{peak:.1f} MiB / +{arrow_peak:.1f} MiB",
        "rows settled / packed with arrays / sent to `segments()`": " / ".join(f"{v:,}" for v in way.values()),
        "identical to `segments()` on every row": str(same),
        "_same": str(same),
        "_vs_loop": f"{vs_loop:.6f}",
        "_vs_map": f"{vs_map:.6f}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="texts per campaign (default 1,000,000)")
    parser.add_argument(
        "--baseline-sample", type=int, default=100_000, help="rows the per-row loop runs over, scaled to N (0 = all rows)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds; the best of each side counts")
    parser.add_argument("--no-write", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)

    print(f"python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, pyarrow {pa.__version__}")
    sample_size = args.n if not args.baseline_sample else min(args.baseline_sample, args.n)
    note = "all rows" if sample_size == args.n else f"best {sample_size:,}-row run, scaled"
    cells = {}
    for name, build in (("repeated", build_texts), ("distinct", build_distinct_texts)):
        texts = build(args.n)
        cells[name] = report(name, texts, race(texts, sample_size, args.rounds), note)
        del texts

    repeated_ratio, distinct_ratio = float(cells["repeated"]["_vs_loop"]), float(cells["distinct"]["_vs_map"])
    met = {"repeated": repeated_ratio >= TARGET_VS_LOOP, "distinct": distinct_ratio >= TARGET_VS_MAP}
    print(
        f"targets: repeated {repeated_ratio:.1f}x the per-row loop (>= {TARGET_VS_LOOP:.0f}x) -> "
        f"{'PASS' if met['repeated'] else 'FAIL'}; distinct {distinct_ratio:.1f}x the unique-map "
        f"(>= {TARGET_VS_MAP:.0f}x) -> {'PASS' if met['distinct'] else 'FAIL'}"
    )
    same = all(c["_same"] == "True" for c in cells.values())

    if not args.no_write:
        command = f"python benchmarks/bench_segments.py --n {args.n} --baseline-sample {args.baseline_sample} --rounds {args.rounds}"
        rows = "\n".join(
            f"| {key} | {cells['repeated'][key]} | {cells['distinct'][key]} |" for key in cells["repeated"] if not key.startswith("_")
        )
        write_section(
            SECTION,
            f"""
Run {dt.date.today().isoformat()} on Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__},
pyarrow {pa.__version__}, {os.cpu_count()} CPUs (`{command}`).  All sides are timed in
interleaved rounds and each side's best round counts, so load from other processes hits
them alike.

| measure | repeated texts | all distinct |
|---|---|---|
{rows}

Targets: repeated texts **{repeated_ratio:.1f}x** the per-row loop (>= {TARGET_VS_LOOP:.0f}x:
{'met' if met['repeated'] else 'NOT met'}); all-distinct texts **{distinct_ratio:.1f}x** the
unique-map (>= {TARGET_VS_MAP:.0f}x: {'met' if met['distinct'] else 'NOT met'}).
"""
        )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
