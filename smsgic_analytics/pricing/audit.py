"""Audience audit: what is wrong with a list before anything is priced or sent.

``audit(audience, rates=None, message=None)`` returns a tidy frame of findings, one row per
rule (and per reason, or per run of sequential numbers), in plain words:

==================  ========================================================================
rule                fires on
==================  ========================================================================
duplicate           a row whose number, after normalisation, is the same as an earlier row's
refused             a value the API would refuse (one finding per reason, e.g. "too short")
national            a national number (leading 0) without ``default_region``
float or integer    a value that arrived as a float or an integer (or a float's rendering):
                    digits or leading zeros may already be lost
sequential run      ``SEQUENTIAL_RUN`` or more distinct numbers that each differ by 1 from
                    the next (a traffic-pumping pattern), in any row order
high cost           a destination whose expected rate is ``HIGH_COST_FACTOR`` x or more the
                    audience's median rate (only with ``rates``)
high-cost share     the share of rows going to destinations at ``HIGH_COST_FACTOR`` x or more
                    the account's usual rate is ``HISTORY_SHARE_FACTOR`` x and
                    ``HISTORY_SHARE_MARGIN`` or more above that share in the account's history
                    (only with ``rates`` and ``history``)
new country         a country this account never sent to before (only with ``history``; one
                    finding per country; nothing when the history is empty)
==================  ========================================================================

``history`` is the account's spend: ``client.spend()`` (or the ledger's destinations,
``ledger.spent(account)[1]``) -- a frame with ``country`` and ``numbers`` per destination,
and its rate per part as ``price``, or as ``net`` (or ``total``) over ``sms_count``.

Every step runs over whole columns (the normaliser, ``classify`` and the rate lookup are the
pricing kernels, ``pricing.offline``); money is integer ten-thousandths until the Decimal
``cost_if_sent`` (what the rows of a finding would cost if sent anyway; None without
``rates`` and ``message``).
"""
from __future__ import annotations

import html
from decimal import Decimal
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..audience.read import AudienceError, audience_column
from ..numbers.normalize import numbers_series
from ..core.display import card, readable, warn
from ..core.money import format_money, is_missing, parse_money, units_to_money
from ..numbers.classify import classify
from ..numbers.normalize import FLOAT_TEXT, FLOAT_VALUE, INTEGER_VALUE, NATIONAL, normalize_numbers
from ..text.counts import segment_counts
from ..text.templates import fill_template, placeholders
from .offline import message_segments, price_numbers
from .rate_table import RateTable

SEQUENTIAL_RUN = 5  # distinct numbers in a row, each the previous + 1
HIGH_COST_FACTOR = 3  # a destination's rate this many times the audience's median rate
FINDING_COLUMNS = ["rule", "rows", "first_row", "last_row", "example", "reason", "cost_if_sent"]
DUPLICATE, REFUSED, NATIONAL_RULE, FROM_NUMBER = "duplicate", "refused", "national", "float or integer"
SEQUENTIAL, HIGH_COST = "sequential run", "high cost"
HIGH_SHARE, NEW_COUNTRY = "high-cost share", "new country"
HISTORY_SHARE_FACTOR = 2  # the audience's high-cost share this many times the history's ...
HISTORY_SHARE_MARGIN = 0.10  # ... and this much above it (10 percentage points): "far above"
_NUMBER_REASONS = (FLOAT_VALUE, FLOAT_TEXT, INTEGER_VALUE)
_NO_PRICE = -1


class Audit(pd.DataFrame):
    """The findings frame (see the module docstring); shown in a notebook as the summary card.

    Operations on it give plain DataFrames.  ``attrs``: ``total`` (rows audited), ``currency``.
    """

    @property
    def _constructor(self):  # slices, copies, arithmetic: plain frames
        return pd.DataFrame

    def _repr_html_(self) -> str:
        total = self.attrs.get("total", 0)
        currency = self.attrs.get("currency")
        lines = [("Rows audited", f"{total:,}"), ("Findings", f"{len(self):,}")]
        for rule, rows in self.groupby("rule", sort=False)["rows"].sum().items():
            lines.append((warn(html.escape(str(rule))), warn(f"{int(rows):,} rows")))
        costs = [c for c in self["cost_if_sent"] if isinstance(c, Decimal)]
        if costs:
            lines.append(("Cost of the flagged rows if sent", format_money(sum(costs, Decimal(0)), currency)))
        table = readable(pd.DataFrame(self), currency) if len(self) else None
        note = "" if len(self) else " (nothing found)"
        return card("Audience audit", lines, note=note, table=table, table_title="Findings")


def phone_column(frame: pd.DataFrame, phone: Any = None) -> Any:
    """The phone column of ``frame``: ``phone`` if given, else the one column whose name looks
    like phone numbers (``audience.columns``); an error naming the columns otherwise."""
    try:
        return audience_column(list(frame.columns), phone, "the DataFrame")
    except AudienceError as exc:
        raise AudienceError(str(exc).replace("pass column=", "pass phone=")) from None


def _phones(audience: Any, phone: Any) -> tuple[pd.Series, pd.DataFrame | None]:
    """(the phone values with the caller's labels, the frame for templates or None)."""
    if isinstance(audience, pd.DataFrame):
        return audience[phone_column(audience, phone)], audience
    if phone is not None:
        raise TypeError("phone= names a column of a DataFrame; a Series or a list is one column already")
    if isinstance(audience, (str, bytes)):
        raise TypeError("audit() needs many numbers (a DataFrame, a Series or a list), not one str")
    return numbers_series(audience), None


def _sms(message: str, frame: pd.DataFrame | None, n: int) -> np.ndarray:
    """SMS parts per row: one text for all, or a ``{column}`` template filled from the frame."""
    if placeholders(message):
        if frame is None:
            raise TypeError(f"message {message!r} is a template: pass the audience as a DataFrame with its columns")
        return segment_counts(fill_template(message, frame).reset_index(drop=True))["segments"].to_numpy(np.int64)
    return np.full(n, message_segments(message), dtype=np.int64)


def _from_numbers(values: pd.Series) -> np.ndarray:
    """Rows whose value arrived as a number (int or float; not bool, not missing)."""
    if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values.notna().to_numpy()
    if pd.api.types.is_float_dtype(values.dtype):
        return values.notna().to_numpy()
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return np.zeros(len(values), dtype=bool)
    kinds = values.map(type, na_action="ignore")
    numeric = kinds.map(lambda t: issubclass(t, (int, float, np.integer, np.floating))
                        and not issubclass(t, (bool, np.bool_)), na_action="ignore")
    return numeric.fillna(False).to_numpy(bool) & values.notna().to_numpy()


def audit(audience: Any, rates: pd.DataFrame | RateTable | None = None, message: str | None = None, *,
          phone: Any = None, default_region: str | None = None, history: pd.DataFrame | None = None) -> Audit:
    """Findings about an audience (see the module docstring), one row per rule and reason or run.

    ``audience``: a DataFrame (the phone column found by name, or ``phone=``), a Series or a
    list.  ``rates`` (a rates table like ``client.rates()``) adds the high-cost rule and, with
    ``message`` (one text, or a ``{column}`` template filled from the audience's columns), the
    cost of each finding's rows if sent anyway.  ``default_region`` reads national numbers.
    ``history`` (the account's spend, ``client.spend()``) adds the rules that compare the list
    with what this account sent before: high-cost share and new country.

    >>> sa.audit(df, rates=client.rates(), message="Hi {first_name}", history=client.spend())  # doctest: +SKIP

    Columns: rule, rows (how many), first_row, last_row (the audience's index labels),
    example (a value as it came), reason (plain words), cost_if_sent (Decimal or None).
    """
    values, frame = _phones(audience, phone)
    labels, values = values.index, values.reset_index(drop=True)
    n = len(values)
    digits, reasons = normalize_numbers(values, default_region)
    reason_s = pd.Series(reasons, dtype=object)
    ok = reason_s.isna().to_numpy()
    number = pd.Series(digits, dtype=object)

    table = None if rates is None else (rates if isinstance(rates, RateTable) else RateTable.from_frame(rates))
    sms = _sms(message, frame, n) if (table is not None and message is not None) else None
    rate = np.full(n, _NO_PRICE, dtype=np.int64)  # expected rate per row, ten-thousandths
    country = np.full(n, None, dtype=object)
    past = None if history is None else _History.of(history)
    if past is not None and table is None and ok.any():  # countries without a rates table: the numbering plan's
        country[ok] = classify(list(number[ok]), normalized=True)["country"].astype(object).to_numpy()
    if table is not None and ok.any():
        codes, unique = pd.factorize(number[ok])
        priced = price_numbers(list(unique), table)
        placed = priced.basis < 3
        rate[ok] = np.where(placed, priced.rates[1], _NO_PRICE)[codes]
        country[ok] = priced.placed["country"].astype(object).to_numpy()[codes]
    cost = None if sms is None else np.where(rate >= 0, rate * sms, 0)

    found: list[tuple[Any, ...]] = []

    def add(rule: str, mask: np.ndarray, reason: str) -> None:
        rows = np.flatnonzero(mask)
        if not len(rows):
            return
        money = None if cost is None else units_to_money(int(cost[rows].sum()))
        found.append((rule, len(rows), labels[rows[0]], labels[rows[-1]], values.iloc[rows[0]], reason, money))

    repeat = ok & number.duplicated().to_numpy() if n else np.zeros(0, bool)
    add(DUPLICATE, repeat, "the same number as an earlier row once normalised: sending it again pays twice "
                           "for one person (the client sends it once)")
    add(NATIONAL_RULE, (reason_s == NATIONAL).to_numpy(), NATIONAL)
    came_as_number = _from_numbers(values) | reason_s.isin(_NUMBER_REASONS).to_numpy()
    add(FROM_NUMBER, came_as_number, "arrived as a number, not text: leading zeros or digits may be lost "
                                     "(refused ones say why); read the column as text")
    refused = ~ok & ~(reason_s == NATIONAL).to_numpy() & ~reason_s.isin(_NUMBER_REASONS).to_numpy()
    for why in pd.unique(reason_s[refused]):
        add(REFUSED, refused & (reason_s == why).to_numpy(), f"the API would refuse it: {why}")
    for lo, hi, mask in _sequential_runs(number, ok):
        add(SEQUENTIAL, mask, f"{int(mask.sum())} rows hold consecutive numbers {lo} to {hi}: a run of "
                              f"sequential numbers is a traffic-pumping pattern")
    if table is not None:
        for name, mask, factor, median, share in _high_cost(rate, country, sms):
            add(HIGH_COST, mask, f"{name}: rate {units_to_money(int(rate[mask][0]))} per part is {factor}x the "
                                 f"audience's median rate {median}; {share:.0%} of the cost for "
                                 f"{mask.sum() / max(n, 1):.0%} of the rows")
    if past is not None and past.numbers:
        if table is not None:
            shared = _high_share(rate, country, past)
            if shared is not None:
                add(HIGH_SHARE, *shared)
        for name, mask in _new_countries(country, ok, past):
            add(NEW_COUNTRY, mask, f"{name}: this account never sent to it before (its history: "
                                   f"{past.numbers:,} numbers in {len(past.countries)} countries)")

    out = Audit(pd.DataFrame(found, columns=FINDING_COLUMNS).astype({"rows": "int64"}))
    out["cost_if_sent"] = out["cost_if_sent"].astype(object)
    out.attrs.update(total=n, currency=None if table is None else table.currency)
    return out


def _sequential_runs(number: pd.Series, ok: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """(first number, last number, row mask) of each run of ``SEQUENTIAL_RUN`` or more distinct
    numbers each one more than the previous, in any row order."""
    fits = ok & (number.str.len().fillna(99).to_numpy() <= 18)  # int64 holds 18 digits
    if fits.sum() < SEQUENTIAL_RUN:
        return []
    as_int = np.zeros(len(number), dtype=np.int64)
    as_int[fits] = number[fits].astype(np.int64).to_numpy()
    distinct = np.unique(as_int[fits])
    step = np.diff(distinct) == 1
    # runs of True in step: a run of k steps is k + 1 numbers
    edges = np.diff(np.concatenate(([0], step.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    runs = []
    for s, e in zip(starts.tolist(), ends.tolist()):
        if e - s + 1 >= SEQUENTIAL_RUN:
            lo, hi = int(distinct[s]), int(distinct[e])
            runs.append((str(lo), str(hi), fits & (as_int >= lo) & (as_int <= hi)))
    return runs


def _high_cost(rate: np.ndarray, country: np.ndarray,
               sms: np.ndarray | None) -> list[tuple[str, np.ndarray, Any, Decimal, float]]:
    """(destination, row mask, times the median, median rate, share of the cost) of each
    destination whose expected rate is ``HIGH_COST_FACTOR`` x or more the median rate over the
    priced rows (the share counts one part per row without a message)."""
    priced = rate >= 0
    if not priced.any():
        return []
    median_units = int(np.median(rate[priced]))
    if median_units <= 0:
        return []
    weight = np.where(priced, rate * (1 if sms is None else sms), 0)
    total = int(weight.sum())
    out = []
    high = priced & (rate >= HIGH_COST_FACTOR * median_units)
    frame = pd.DataFrame({"country": country[high], "rate": rate[high], "row": np.flatnonzero(high)})
    for (name, unit), group in frame.groupby(["country", "rate"], sort=True, dropna=False):
        mask = np.zeros(len(rate), dtype=bool)
        mask[group["row"].to_numpy()] = True
        factor = (Decimal(int(unit)) / Decimal(median_units)).quantize(Decimal("0.1"))
        share = int(weight[mask].sum()) / total  # a float: only a percentage to read
        out.append((str(name), mask, factor, units_to_money(median_units), share))
    return out


class _History(NamedTuple):
    """The account's history as the audit needs it: numbers sent, per country and per rate."""

    numbers: int
    countries: frozenset[str]  # casefolded names
    rates: list[Decimal]  # rate per part of each destination row with a rate ...
    weights: list[int]  # ... and its numbers

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "_History":
        missing = [c for c in ("country", "numbers") if c not in frame.columns]
        if missing:
            raise ValueError(f"history: missing column(s) {', '.join(missing)} (expected client.spend() or "
                             f"the ledger's destinations)")
        rows = frame[np.array([not is_missing(c) and str(c).strip() != "" for c in frame["country"]], dtype=bool)]
        counts = [0 if is_missing(v) else int(v) for v in rows["numbers"]]
        rates: list[Decimal] = []
        weights: list[int] = []
        for i, (k, rec) in enumerate(zip(counts, rows.to_dict("records"))):
            rate = _history_rate(rec, f"history row {rows.index[i]!r}")
            if rate is not None and k > 0:
                rates.append(rate)
                weights.append(k)
        names = frozenset(str(c).strip().casefold() for c, k in zip(rows["country"], counts) if k > 0)
        return cls(sum(counts), names, rates, weights)


def _history_rate(rec: dict[str, Any], where: str) -> Decimal | None:
    """A destination row's rate per part: ``price``, else ``net`` (or ``total``) / ``sms_count``."""
    if not is_missing(rec.get("price")):
        return parse_money(rec["price"], f"{where}: price")
    parts = rec.get("sms_count")
    for column in ("net", "total"):
        if not is_missing(rec.get(column)) and not is_missing(parts) and int(parts) > 0:
            return parse_money(rec[column], f"{where}: {column}") / int(parts)
    return None


def _weighted_median(values: list[Decimal], weights: list[int]) -> Decimal:
    order = sorted(range(len(values)), key=values.__getitem__)
    half, seen = sum(weights) / 2, 0
    for i in order:
        seen += weights[i]
        if seen >= half:
            return values[i]
    return values[order[-1]]


def _high_share(rate: np.ndarray, country: np.ndarray, past: _History) -> tuple[np.ndarray, str] | None:
    """(row mask, reason) when the audience's share of rows at ``HIGH_COST_FACTOR`` x the
    account's usual (numbers-weighted median) rate is far above the history's share."""
    priced = rate >= 0
    if not priced.any() or not past.rates:
        return None
    usual = _weighted_median(past.rates, past.weights)
    if usual <= 0:
        return None
    threshold = usual * HIGH_COST_FACTOR
    past_high = sum(k for r, k in zip(past.rates, past.weights) if r >= threshold)
    past_share = past_high / sum(past.weights)
    distinct = np.unique(rate[priced])
    high_rates = [int(u) for u in distinct if units_to_money(int(u)) >= threshold]
    mask = priced & np.isin(rate, high_rates)
    share = mask.sum() / priced.sum()
    if not mask.any() or share < HISTORY_SHARE_FACTOR * past_share or share - past_share < HISTORY_SHARE_MARGIN:
        return None
    names = pd.Series(country[mask]).value_counts()
    top = ", ".join(f"{name} ({k:,})" for name, k in names.head(3).items()) + (" ..." if len(names) > 3 else "")
    return mask, (f"{share:.0%} of the priced rows go to destinations at {threshold} or more per part "
                  f"({HIGH_COST_FACTOR}x the account's usual rate {usual}), against {past_share:.0%} of the "
                  f"{sum(past.weights):,} numbers it sent before: {top}")


def _new_countries(country: np.ndarray, ok: np.ndarray, past: _History) -> list[tuple[str, np.ndarray]]:
    """(country, row mask) of each audience country the history never sent to, in row order."""
    names = pd.Series(country, dtype=object)
    known = names.notna().to_numpy() & ok
    folded = names[known].map(lambda c: str(c).strip().casefold())
    new = folded[~folded.isin(past.countries)]
    out = []
    for name in pd.unique(names[new.index]):
        out.append((str(name), (names == name).to_numpy() & known))
    return out
