"""Benchmark: the Dask estimate of a 20,000,000-number Parquet audience vs the in-memory pandas path.

    .venv/bin/python benchmarks/bench_audience.py [--rows 20000000] [--sizes 5000000,10000000,20000000]
        [--workers 1,2] [--quick] [--no-write]

Data: a generated Parquet audience (files of 1,000,000 rows, row groups of 250,000) of valid
mobile numbers over the campaign mix and its long tail (``sample_numbers`` draws 500,000, the
rest vary their last three digits), written as exports write them (30 % with ``+``, 10 % with
spaces), plus 2 % later copies of earlier numbers and 1 % rows that are not numbers.  Rates: the
sandbox card (seed 0).  The first N rows are the N-row audience (the first N/1M files).

Each measured run is a child process; the parent samples the memory of the child's whole
process tree (the Dask scheduler and worker processes included) every 100 ms with psutil --
the sum of PSS (shared library pages counted once) and the sum of RSS -- and keeps the peaks.
Runs:

* **Dask**: ``distributed.LocalCluster(n_workers=W, threads_per_worker=1, processes=True)``,
  ``sa.estimate(sa.read_audience(folder), text, rates=...)``: cost, by country, by operator,
  unplaced and duplicates -- for every size x worker count.
* **pandas baseline** (what a competent pandas user writes): ``pd.read_parquet(folder)`` then
  the in-memory ``sa.estimate(df["phone"], text, rates=...)``, with the same summaries; a run
  that passes ``--memory-cap`` GiB (default 20) is stopped and recorded as such.

Both must give the same totals (checked at every size where both finish).  Writes the
``## bench_audience`` section of benchmarks/RESULTS.md.  Needs the ``__main__`` guard: Dask's
workers start by spawning.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROWS_PER_FILE = 1_000_000
from smsgic_analytics.audience.read import ROWS_PER_PARTITION  # noqa: E402  (read_audience's default)

MESSAGE = "Winter sale: 30% off everything in store and online until Sunday. Reply STOP to opt out."
SECTION = "bench_audience"
TARGET_PEAK_GIB = 2.0
PSS_EVERY = 0.5  # seconds between PSS samples (RSS: every 0.1 s)


# --- data -------------------------------------------------------------------------------------

def generate(folder: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` audience rows as ``part-NNNN.parquet`` files of ROWS_PER_FILE rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from smsgic_analytics.numbers.samples import sample_numbers

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = pa.array(sample_numbers(500_000, seed=seed), pa.string())
    junk = pa.array(["n/a", "", "12 34 56", "07700 900123", "4477009001.0", "unknown", "+44 7700 9001 ext 2"])
    made = 0
    for i in range(-(-rows // ROWS_PER_FILE)):
        n = min(ROWS_PER_FILE, rows - made)
        picks = pc.take(base, pa.array(rng.integers(0, len(base), n)))
        tails = pa.array(np.char.zfill(rng.integers(0, 1000, n).astype(str), 3))
        numbers = pc.binary_join_element_wise(pc.utf8_slice_codeunits(picks, 0, -3), tails, "")
        if made:  # 2 % copies of numbers from earlier files: duplicates across partitions
            previous = pq.read_table(folder / f"part-{i - 1:04d}.parquet", columns=["phone"]).column(0)
            copy = rng.random(n) < 0.02
            numbers = pc.if_else(pa.array(copy), pc.take(previous, pa.array(rng.integers(0, len(previous), n))),
                                 numbers)
        style = rng.random(n)
        spaced = pc.binary_join_element_wise(pc.utf8_slice_codeunits(numbers, 0, 2), " ",
                                             pc.utf8_slice_codeunits(numbers, 2, 6), " ",
                                             pc.utf8_slice_codeunits(numbers, 6), "")
        plus = pc.binary_join_element_wise(pa.scalar("+"), numbers, "")
        cells = pc.if_else(pa.array(style < 0.3), plus, pc.if_else(pa.array(style > 0.9), spaced, numbers))
        bad = rng.random(n) < 0.01
        cells = pc.if_else(pa.array(bad), pc.take(junk, pa.array(rng.integers(0, len(junk), n))), cells)
        pq.write_table(pa.table({"phone": cells}), folder / f"part-{i:04d}.parquet", row_group_size=250_000)
        made += n


def subset(folder: Path, rows: int) -> Path:
    """A folder of symlinks to the first rows/ROWS_PER_FILE files: the first ``rows`` rows."""
    out = folder.parent / f"first-{rows}"
    if not out.exists():
        out.mkdir()
        for i in range(rows // ROWS_PER_FILE):
            (out / f"part-{i:04d}.parquet").symlink_to(folder / f"part-{i:04d}.parquet")
    return out


# --- one measured run (a child process) --------------------------------------------------------

def rates_frame():
    from smsgic_analytics.sandbox.ratecard import RateCard

    return RateCard.for_seed(0).frame()[["mcc", "mnc", "country", "rate"]].assign(currency="GBP")


def summary(est) -> dict:
    by_country, by_operator = est.by_country(), est.by_operator()
    return {"low": str(est.totals.low), "expected": str(est.totals.expected), "high": str(est.totals.high),
            "sms": int(est.sms_count), "countries": len(by_country), "operators": len(by_operator)}


def child(args: argparse.Namespace) -> None:
    import smsgic_analytics as sa

    rates = rates_frame()
    t0 = time.perf_counter()
    if args.child == "dask":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            started = time.perf_counter()
            audience = sa.read_audience(args.data, **({"rows_per_partition": args.rows_per_partition}
                                                      if args.rows_per_partition else {}))
            est = sa.estimate(audience, MESSAGE, rates=rates, progress=False)
            out = summary(est) | {"unplaced": est.unplaced_count, "duplicates": est.counts["duplicates"],
                                  "rows": est.counts["rows"]}
            seconds = time.perf_counter() - started
    else:
        import pandas as pd

        started = time.perf_counter()
        frame = pd.read_parquet(args.data)
        est = sa.estimate(frame["phone"], MESSAGE, rates=rates)
        out = summary(est) | {"unplaced": len(est.unplaced), "duplicates": len(est.duplicates), "rows": len(frame)}
        seconds = time.perf_counter() - started
    out |= {"seconds": seconds, "wall": time.perf_counter() - t0}
    print("RESULT " + json.dumps(out), flush=True)


def measure(script: Path, kind: str, data: Path, workers: int, cap_gib: float,
            rows_per_partition: int | None = None, pss_every: float = PSS_EVERY) -> dict:
    """Run one child; peak memory of its process tree (RSS every 100 ms, PSS every ``pss_every``
    s: reading smaps costs CPU the run needs on a 2-core machine); stopped past the cap."""
    import psutil

    cmd = [sys.executable, str(script), "--child", kind, "--data", str(data), "--workers", str(workers),
           "--rows-per-partition", str(rows_per_partition or 0)]
    load = os.getloadavg()[0]  # other work on the machine when the run starts
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak, peak_pss, capped = 0, 0, False
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss, capped
        last_pss = 0.0
        while not done.is_set():
            try:
                tree = [root] + root.children(recursive=True)
                rss = pss = 0
                full = time.monotonic() - last_pss >= pss_every
                for p in tree:
                    try:
                        if full:  # PSS: shared pages counted once over the tree
                            info = p.memory_full_info()
                            rss, pss = rss + info.rss, pss + info.pss
                        else:
                            rss += p.memory_info().rss
                    except psutil.Error:
                        pass
                if full:
                    last_pss = time.monotonic()
                    peak_pss = max(peak_pss, pss)
                peak = max(peak, rss)
                if rss > cap_gib * 2**30 and not capped:
                    capped = True
                    for p in reversed(tree):
                        try:
                            p.kill()
                        except psutil.Error:
                            pass
            except psutil.Error:
                pass
            done.wait(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    out, err = proc.communicate()
    done.set()
    thread.join()
    result = {"kind": kind, "workers": workers, "peak_gib": peak_pss / 2**30, "peak_rss_gib": peak / 2**30,
              "capped": capped, "load": load,
              "returncode": proc.returncode}
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    result["pss_every"] = pss_every
    if lines:
        result |= json.loads(lines[-1][len("RESULT "):])
    else:
        result["error"] = (err.strip().splitlines() or ["no output"])[-1][:300]
    return result


# --- report -----------------------------------------------------------------------------------

def fmt_rate(r: dict, rows: int) -> str:
    return f"{rows / r['seconds'] / 1e6:.2f} M/s" if "seconds" in r else "-"


def report(results: list[dict], args: argparse.Namespace, generated_s: float) -> str:
    import dask
    import distributed
    import pandas as pd
    import pyarrow

    largest = max(args.sizes)
    lines = [
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on Python {platform.python_version()}, pandas "
        f"{pd.__version__}, dask {dask.__version__}, distributed {distributed.__version__}, pyarrow {pyarrow.__version__}, "
        f"{os.cpu_count()} CPUs, {_total_gib():.0f} GiB{_loads(results)}",
        f"(`python benchmarks/bench_audience.py --sizes {','.join(map(str, args.sizes))} "
        f"--workers {','.join(map(str, args.workers))}`).",
        f"Audience: generated Parquet, {largest:,} rows in files of {ROWS_PER_FILE:,} "
        f"(generated in {generated_s:.0f} s): 1 % not numbers, 2 % copies of earlier numbers, "
        f"30 % written with `+`, 10 % with spaces; text of 1 SMS part; rates: the sandbox card (seed 0).",
        f"Peak memory: of the whole process tree (client, scheduler, worker processes): the sum of PSS "
        f"(proportional set size, sampled every {results[0].get('pss_every', 0.1):g} s: a page shared by several processes -- "
        f"the Python, numpy and Arrow libraries every worker maps -- counted once, split between them), "
        f"i.e. the physical memory the run holds; the sum of RSS (shared pages counted once per process, "
        f"sampled every 0.1 s) beside it.",
        "",
        "| path | rows | workers | seconds | numbers / s | peak memory (PSS) | peak Σ RSS | expected cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows = r["size"]
        if "seconds" in r:
            cells = [f"{r['seconds']:.1f}", fmt_rate(r, rows), f"{r['peak_gib']:.2f} GiB",
                     f"{r['peak_rss_gib']:.2f} GiB", f"{r['expected']} GBP"]
        else:
            why = "stopped at the memory cap" if r["capped"] else f"failed: {r.get('error', '?')}"
            cells = ["-", "-", f"{r['peak_gib']:.2f} GiB ({why})", f"{r['peak_rss_gib']:.2f} GiB", "-"]
        name = "Dask (`read_audience` + `sa.estimate`)" if r["kind"] == "dask" else \
            "pandas (`pd.read_parquet` + in-memory `sa.estimate`)"
        if r.get("rerun"):
            name += f" -- re-run (PSS every {r.get('pss_every', 0.1):g} s)"
        lines.append(f"| {name} | {rows:,} | {r['workers'] if r['kind'] == 'dask' else '1 process'} | "
                     + " | ".join(cells) + " |")
    lines += ["", *analysis(results, largest)]
    return "\n".join(lines)


def _loads(results: list[dict]) -> str:
    loads = [r["load"] for r in results if "load" in r]
    return f", load average {min(loads):.1f}-{max(loads):.1f} at the runs' starts" if loads else ""


def _total_gib() -> float:
    import psutil

    return psutil.virtual_memory().total / 2**30


def analysis(every: list[dict], largest: int) -> list[str]:
    results = [r for r in every if not r.get("rerun")]
    reruns = [r for r in every if r.get("rerun") and "seconds" in r]
    ok = [r for r in results if "seconds" in r]
    dask_runs = [r for r in ok if r["kind"] == "dask"]
    out: list[str] = []
    pairs = {}
    for r in ok:
        pairs.setdefault(r["size"], {}).setdefault(r["kind"], r)
    same = [size for size, p in pairs.items() if "dask" in p and "pandas" in p]
    agree = all(pairs[s]["dask"]["expected"] == pairs[s]["pandas"]["expected"]
                and pairs[s]["dask"]["low"] == pairs[s]["pandas"]["low"]
                and pairs[s]["dask"]["unplaced"] == pairs[s]["pandas"]["unplaced"]
                and pairs[s]["dask"]["duplicates"] == pairs[s]["pandas"]["duplicates"] for s in same)
    if same:
        out.append(f"Same totals, unplaced and duplicate counts from both paths at "
                   f"{', '.join(f'{s:,}' for s in sorted(same))} rows: **{'yes' if agree else 'NO'}**.")
    big = [r for r in dask_runs if r["size"] == largest]
    if big:
        worst = max(big, key=lambda r: r["peak_gib"])
        verdict = "met" if worst["peak_gib"] < TARGET_PEAK_GIB else "NOT met"
        out.append(f"Dask peak memory at {largest:,} rows: **{worst['peak_gib']:.2f} GiB** (PSS) over the whole "
                   f"run, client, scheduler and {worst['workers']} workers together; Σ RSS "
                   f"{worst['peak_rss_gib']:.2f} GiB (target < {TARGET_PEAK_GIB:g} GiB: {verdict}). It hardly moves "
                   f"with the audience: each shuffled partition is summarised by one task and freed.")
    pandas_big = [r for r in results if r["kind"] == "pandas" and r["size"] == largest]
    if pandas_big:
        p = pandas_big[0]
        state = "finished" if "seconds" in p else ("was stopped at the cap" if p["capped"] else "failed")
        out.append(f"pandas path at {largest:,} rows: peak {p['peak_gib']:.2f} GiB ({state}).")
    for workers in sorted({r["workers"] for r in dask_runs}):
        runs = sorted((r for r in dask_runs if r["workers"] == workers), key=lambda r: r["size"])
        if len(runs) >= 2:
            per_m = ", ".join(f"{r['seconds'] / r['size'] * 1e6:.2f} s" for r in runs)
            sizes = ", ".join(f"{r['size'] // 1_000_000}M" for r in runs)
            out.append(f"Dask, {workers} worker(s): seconds per million rows at {sizes}: {per_m} "
                       f"(flat = linear growth).")
    one = {r["size"]: r for r in dask_runs if r["workers"] == 1}
    two = {r["size"]: r for r in dask_runs if r["workers"] == 2}
    speedups = [f"{one[n]['seconds'] / two[n]['seconds']:.2f}x at {n // 1_000_000}M" for n in sorted(one) if n in two]
    speedups += [f"{one_r['seconds'] / two_r['seconds']:.2f}x at {one_r['size'] // 1_000_000}M (re-run)"
                 for one_r in reruns if one_r["workers"] == 1
                 for two_r in reruns if two_r["workers"] == 2 and two_r["size"] == one_r["size"]]
    if largest in one:
        per_worker = largest / one[largest]["seconds"]
        per_m = [one[n]["seconds"] / n * 1e6 for n in sorted(one)]
        change = per_m[-1] / per_m[0] - 1
        span = f"from {min(one) // 1_000_000}M to {max(one) // 1_000_000}M rows"
        verdict = ("linear within that" if abs(change) < 0.2 else "faster than linear" if change > 0 else
                   "a fixed start-up cost spread over more rows: no growth faster than linear")
        growth = (f"its cost per million rows {'grows' if change > 0 else 'falls'} by {abs(change):.0%} {span} "
                  f"({verdict})" if len(one) > 1 else "one size was measured (no growth figure)")
        loads = [r["load"] for r in dask_runs if "load" in r]
        shared = (f"load average {min(loads):.1f}-{max(loads):.1f} at the runs' starts on this {os.cpu_count()}-core "
                  f"machine: a load near or above the core count leaves the second worker no core of its own"
                  if loads else "load not recorded")
        peaks = ", ".join(f"{max(r['peak_gib'] for r in dask_runs if r['workers'] == w):.2f} GiB with {w}"
                          for w in sorted({r["workers"] for r in dask_runs}))
        out += ["", "### Extrapolation to 1,000,000,000 numbers",
                "",
                f"One worker (one core) prices {per_worker / 1e3:.0f} k numbers/s at {largest:,} rows; {growth}.  "
                f"From 1 to 2 workers the run got {', '.join(speedups) or 'no comparison'} faster ({shared}).  "
                f"The work itself is one pass of per-partition "
                f"kernels (normalise, classify, price), one hash shuffle of the rows by number (each row moves "
                f"once) and one summary task per partition, so it divides over workers; memory per worker "
                f"follows the partition size ({ROWS_PER_PARTITION:,} rows), not the audience.",
                f"A billion numbers is {1e9 / largest:.0f}x this audience.  At the measured one-core rate: one worker "
                f"about {1e9 / per_worker / 3600:.1f} h; a cluster of 32 single-core workers (e.g. 8 machines x 4 "
                f"cores) about {1e9 / per_worker / 32 / 60:.0f} min if the rate per worker holds.  What erodes it is "
                f"the shuffle's network traffic (an estimate: ~60 bytes per row, ~60 GB in all, spread over the "
                f"machines), so plan 1.5-2x that: roughly {1.5e9 / per_worker / 32 / 60:.0f}-"
                f"{2e9 / per_worker / 32 / 60:.0f} min.  Memory: the whole run's peak here (client, scheduler and "
                f"workers) was {peaks} worker(s), whatever the size; the client keeps only summaries (groups, "
                f"reason counts, bounded samples).",
                *_pandas_growth(results)]
    return out


def _pandas_growth(results: list[dict]) -> list[str]:
    runs = sorted((r for r in results if r["kind"] == "pandas" and "seconds" in r), key=lambda r: r["size"])
    if len(runs) < 2:
        return []
    slope = (runs[-1]["peak_gib"] - runs[0]["peak_gib"]) / ((runs[-1]["size"] - runs[0]["size"]) / 1e6)
    peaks = " / ".join(f"{r['peak_gib']:.1f}" for r in runs)
    sizes = " / ".join(f"{r['size'] // 1_000_000}M" for r in runs)
    return [f"The pandas path cannot: its peak grows with the audience ({peaks} GiB at {sizes} here, about "
            f"{slope:.2f} GiB per million rows), i.e. ~{slope * 1000:.0f} GiB for a billion, in one process on "
            f"one core."]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000, help="rows generated (the largest size)")
    parser.add_argument("--sizes", default="5000000,10000000,20000000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--quick", action="store_true", help="1M / 2M rows, for a smoke run (writes nothing)")
    parser.add_argument("--memory-cap", type=float, default=20.0, help="GiB; a run past it is stopped")
    parser.add_argument("--data-dir", default=None, help="where to generate (default: a temporary folder)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--rows-per-partition", type=int, default=0,
                        help="read_audience's rows_per_partition (default: its own default)")
    parser.add_argument("--skip-pandas", action="store_true", help="only the Dask runs")
    parser.add_argument("--pss-every", type=float, default=PSS_EVERY, help="seconds between PSS samples")
    parser.add_argument("--report-from", default=None,
                        help="rebuild the section from the JSON lines a previous run printed (its log)")
    parser.add_argument("--child", choices=["dask", "pandas"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.workers = int(args.workers)
        child(args)
        return 0
    if args.quick:
        args.rows, args.sizes, args.no_write = 2_000_000, "1000000,2000000", True
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    args.workers = sorted(int(w) for w in args.workers.split(","))
    if max(args.sizes) > args.rows or any(s % ROWS_PER_FILE for s in args.sizes):
        parser.error(f"sizes must be multiples of {ROWS_PER_FILE:,} and at most --rows")
    script = Path(__file__).resolve()
    if args.report_from:  # LOG[,RERUN_LOG...]: rows of the later logs are marked as re-runs
        results, generated = [], 0.0
        for i, log in enumerate(args.report_from.split(",")):
            lines = Path(log).read_text().splitlines()
            results += [json.loads(line) | ({"rerun": True} if i else {}) for line in lines if line.startswith("{")]
            if not i:
                generated = float(next(line.split()[-2] for line in lines if line.startswith("generated")))
        return _write(report(results, args, generated), args, script, results)
    with tempfile.TemporaryDirectory(prefix="bench-audience-", dir=args.data_dir) as tmp:
        folder = Path(tmp) / "audience"
        t0 = time.perf_counter()
        generate(folder, args.rows)
        generated = time.perf_counter() - t0
        print(f"generated {args.rows:,} rows in {generated:.0f} s", flush=True)
        results = []
        for size in args.sizes:
            data = subset(folder, size)
            for workers in args.workers:
                r = measure(script, "dask", data, workers, args.memory_cap, args.rows_per_partition,
                            args.pss_every) | {"size": size}
                print(json.dumps(r), flush=True)
                results.append(r)
            if not args.skip_pandas:
                r = measure(script, "pandas", data, 1, args.memory_cap, None, args.pss_every) | {"size": size}
                print(json.dumps(r), flush=True)
                results.append(r)
    return _write(report(results, args, generated), args, script, results)


def _write(text: str, args: argparse.Namespace, script: Path, results: list[dict]) -> int:
    print(text)
    if not args.no_write:
        sys.path.insert(0, str(script.parent))
        from results import write_figures, write_section

        write_section(SECTION, text)
        # the section's first line says when, where and how it ran; the runs are its figures
        write_figures(SECTION, {"run": text.splitlines()[0], "runs": results})
    return 0


if __name__ == "__main__":  # Dask's workers start by spawning: they must not run this again
    sys.exit(main())
