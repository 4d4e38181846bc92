"""``smsgic-analytics estimate``: an offline estimate of an audience file, out of core, on Dask.

    smsgic-analytics estimate AUDIENCE --message TEXT --out DIR [--column phone]
        [--rates FILE] [--scheduler ADDRESS] [--default-region GB] [--no-progress]

Rates: ``--rates FILE`` (CSV or Parquet shaped like ``client.rates()``: mcc, mnc, country,
rate, currency; a CSV is read as text, so rates and MNCs stay exact); without it the
account's ``/rates`` when SMSGIC_TOKEN is set (SMSGIC_BASE_URL), else those of an in-process
sandbox (its seeded rate card).  ``--scheduler``: a ``tcp://host:8786`` address connects a
``distributed.Client`` (the work runs on that cluster); ``threads``, ``processes`` or
``synchronous`` pick a local scheduler; default: Dask's local default.

Writes ``by_country.csv``, ``by_operator.csv`` and ``unplaced.csv`` (every input row not
priced, with its row and reason) into ``--out``, money as exact decimal text, and prints the
totals.  Progress goes to stderr.  Exit status 2 for input it refuses (the message says why).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from ..audience.read import PARQUET_SUFFIXES
from ..core import spec
from ..core.config import ENV_TOKEN

LOCAL_SCHEDULERS = ("threads", "processes", "synchronous", "sync")
OUTPUTS = ("by_country.csv", "by_operator.csv", "unplaced.csv")


def read_rates_file(path: str) -> pd.DataFrame:
    """A rates table from CSV (every cell as text: exact rates, MNCs with their zeros) or Parquet."""
    lower = path.lower()
    if lower.endswith(PARQUET_SUFFIXES):
        return pd.read_parquet(path)
    if lower.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        sep = "\t" if lower.endswith(".tsv") else ","
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], sep=sep)
    raise ValueError(f"{path}: a rates table is a .csv or .parquet file")


@contextlib.contextmanager
def rates_source(rates_file: str | None) -> Iterator[tuple[pd.DataFrame, str]]:
    """(rates, where they came from): the file, the API (SMSGIC_TOKEN) or an in-process sandbox."""
    if rates_file:
        yield read_rates_file(rates_file), rates_file
        return
    from ..client import connect

    if os.environ.get(ENV_TOKEN):
        with connect() as client:
            yield client.rates(), "the API's /rates (SMSGIC_TOKEN)"
        return
    from ..sandbox.server import running

    with tempfile.TemporaryDirectory(prefix="smsgic-estimate-") as work:
        with running(tokens=(spec.DEMO_TOKEN,), db=os.path.join(work, "sandbox.sqlite"), seed=0) as url, \
                connect(token=spec.DEMO_TOKEN, base_url=url, cache_dir=os.path.join(work, "cache")) as client:
            rates = client.rates()
        yield rates, "the sandbox rate card (seed 0; set SMSGIC_TOKEN for your account's rates)"


@contextlib.contextmanager
def scheduler(address: str | None) -> Iterator[str]:
    """Run Dask on ``address`` for the duration: a distributed cluster or a named local scheduler."""
    import dask

    if not address:
        yield "local (Dask's default)"
        return
    if address in LOCAL_SCHEDULERS:
        with dask.config.set(scheduler="synchronous" if address == "sync" else address):
            yield f"local ({address})"
        return
    from distributed import Client

    with Client(address, timeout="30s") as client:
        yield f"cluster at {client.scheduler.address} ({len(client.scheduler_info()['workers'])} workers)"


def run(args: argparse.Namespace) -> int:
    from ..audience.read import AudienceError
    from ..core.errors import SMSgicError
    from ..core.money import format_money
    from ..pricing.dask import dask_estimate
    from ..text.templates import TemplateError

    out = Path(args.out)
    try:
        with rates_source(args.rates) as (rates, where), scheduler(args.scheduler) as on:
            print(f"rates: {where}; scheduler: {on}", file=sys.stderr)
            est = dask_estimate(args.audience, args.message, rates, column=args.column,
                                default_region=args.default_region, progress=not args.no_progress,
                                keep_unplaced=True)
    except (AudienceError, TemplateError, SMSgicError, ValueError, TypeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    frames = {"by_country.csv": est.by_country(), "by_operator.csv": est.by_operator(), "unplaced.csv": est.unplaced}
    for name, frame in frames.items():
        # Decimal cells are written with str(): the exact amount, never a float's rendering
        frame.to_csv(out / name, index=False)
    c, t, cur = est.counts, est.totals, est.currency
    print(f"audience: {c['rows']:,} rows, {c['numbers']:,} recipients, {c['duplicates']:,} duplicates merged, "
          f"{est.unplaced_count:,} not priced ({c['invalid']:,} invalid, {c['unplaced']:,} unplaced)")
    print(f"sms parts: {est.sms_count:,}")
    print(f"cost: low {format_money(t.low, cur)}, expected {format_money(t.expected, cur)}, "
          f"high {format_money(t.high, cur)}")
    print(f"wrote {', '.join(OUTPUTS)} to {out}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__.splitlines()[0] if __doc__ else None
    parser.add_argument("audience", help="CSV/TSV (.gz), Parquet file/folder/glob, or .xlsx")
    parser.add_argument("--column", default=None, help="the phone column (default: the one named like one)")
    parser.add_argument("--message", required=True, help="the text, or a {column} template filled per row")
    parser.add_argument("--rates", default=None, help="rates table (.csv/.parquet); default: API or sandbox")
    parser.add_argument("--scheduler", default=None,
                        help="tcp://host:port of a Dask scheduler, or threads / processes / synchronous")
    parser.add_argument("--default-region", default=None, help="ISO region for national numbers (e.g. GB)")
    parser.add_argument("--out", required=True, help="folder for by_country.csv, by_operator.csv, unplaced.csv")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(func=run)
