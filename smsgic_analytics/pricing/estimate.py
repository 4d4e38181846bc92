"""Campaign cost, three ways: exact (the API), what-if (local re-pricing of a quote), offline (a rates table).

* **exact**  -- ``estimate(numbers, text, client=client)``: ``client.calculate`` over the whole
  audience; returns the API's ``Quote``.
* **what-if** -- ``quote.reprice(message=...)`` or ``quote.reprice(template=..., data=df)``:
  the quote's per-number rates x local segment counts; no API call (``pricing.whatif``).
* **offline** -- ``estimate(numbers, text, rates=df)``: no token needed; a low / expected /
  high cost per number with its basis (``pricing.offline``).
* **reconcile** -- ``compare(offline, quote)``: where the two disagree (``pricing.reconcile``).
"""
from __future__ import annotations

from typing import Any, Literal, Protocol, Sequence

import pandas as pd

from ..text.templates import TemplateError, fill_template
from .compare import compare
from .dask import DaskEstimate, dask_estimate, is_lazy_audience, resolve
from .offline import BASES, OfflineEstimate, Totals, offline_estimate
from .quote import Quote
from .rate_table import RateTable
from .whatif import reprice


class Client(Protocol):
    """What ``estimate`` uses of ``smsgic_analytics.Client`` (which sits above pricing)."""

    def calculate(self, message: str, recipients: Any, **options: Any) -> Quote: ...

    def rates(self) -> pd.DataFrame: ...

__all__ = ["BASES", "DaskEstimate", "OfflineEstimate", "RateTable", "TemplateError", "Totals", "compare", "estimate",
           "dask_estimate", "fill_template", "offline_estimate", "reprice"]

Mode = Literal["auto", "exact", "offline"]


def estimate(numbers: Any, message: str | Sequence[str] | pd.Series, client: "Client | None" = None,
             rates: pd.DataFrame | None = None, mode: Mode = "auto", *, data: pd.DataFrame | None = None,
             default_region: str | None = None, column: str | None = None,
             **calculate_options: Any) -> Quote | OfflineEstimate:
    """The cost of sending ``message`` to ``numbers``: an exact ``Quote`` or an ``OfflineEstimate``.

    ``mode="auto"`` is offline when a ``rates`` table is given, else exact with ``client``.
    ``mode="exact"`` needs a client (``calculate_options`` go to ``client.calculate``: progress,
    chunk_size, on_invalid...).  ``mode="offline"`` uses ``rates``, or ``client.rates()`` when only
    a client is given.  Offline, ``message`` may also be one text per number, or a ``{column}``
    template with ``data`` (one row per number).  ``default_region`` (e.g. ``"GB"``) reads
    national numbers (leading 0) as that region's, in both modes.

    ``numbers`` may also be a Dask Series or DataFrame (``column=`` names the phone column, else
    it is found by name) or an audience file (``read_audience``): offline, the estimate runs out
    of core on the active Dask scheduler and returns a ``DaskEstimate`` (an OfflineEstimate whose
    ``.rows`` stay lazy; ``progress``, ``sample``, ``npartitions`` as in ``dask_estimate``), and
    a ``{column}`` template is filled from the audience's own columns; exact, the audience is
    de-duplicated across partitions and quoted by ``client.calculate``.

    >>> est = sa.estimate(df["phone"], "Sale today!", rates=client.rates())   # doctest: +SKIP
    >>> est.totals                                                             # doctest: +SKIP
    Totals(low=Decimal('41.2000'), expected=Decimal('44.9000'), high=Decimal('47.1000'))
    """
    if mode not in ("auto", "exact", "offline"):
        raise ValueError(f"mode must be 'auto', 'exact' or 'offline', not {mode!r}")
    lazy = is_lazy_audience(numbers)
    if column is not None and not lazy:
        raise TypeError("column= names the phone column of an audience file or a Dask DataFrame; pass a "
                        "pandas Series (df['phone']) or a list here")
    if lazy and data is not None:
        raise TypeError("with a Dask audience a '{column}' template is filled from the audience's own columns: "
                        "drop data=")
    if mode == "auto":
        if rates is None and client is None:
            raise TypeError("estimate() needs client= (exact, via the API) or rates= (offline, a rates table)")
        mode = "offline" if rates is not None else "exact"
    if mode == "exact":
        if client is None:
            raise TypeError("estimate(mode='exact') prices with the API: pass client=sa.connect(...)")
        if rates is not None:
            raise TypeError("estimate(mode='exact') prices with the API; rates= is for mode='offline'")
        if data is not None or not isinstance(message, str):
            raise TypeError("estimate(mode='exact') prices one text per API call; for personalised texts use "
                            "client.calculate(text, numbers).reprice(template=..., data=...) or mode='offline'")
        if lazy:
            numbers = resolve(numbers, column)[0]
        return client.calculate(message, numbers, default_region=default_region, **calculate_options)
    if lazy:
        options = {k: calculate_options.pop(k) for k in ("progress", "sample", "npartitions") if k in calculate_options}
    if calculate_options:
        raise TypeError(f"estimate(mode='offline') makes no API call: unexpected {sorted(calculate_options)}")
    if rates is None:
        if client is None:
            raise TypeError("estimate(mode='offline') needs rates= (a DataFrame like client.rates()) or client=")
        rates = client.rates()
    if lazy:
        return dask_estimate(numbers, message, rates, column=column, default_region=default_region, **options)
    return offline_estimate(numbers, message, rates, data=data, default_region=default_region)
