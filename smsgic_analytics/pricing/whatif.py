"""What-if: re-price an API quote for another text, locally, with no API call.

The quote already holds each number's rate (``quote.numbers.rate``, exact Decimals from the
API); only the SMS count depends on the text, and ``segments()`` counts it as the API does.
So the new price of a number is ``rate x sms``, summed exactly: rates become integer minor
units (``rate x 10^p``, p = the rates' decimal places, at least 4), totals are integer
arithmetic (numpy int64 per row, Python ints for sums), and Decimals come back at the end.

Tax: the API's tax rule is not documented, so the quote's tax ratio (tax / subtotal) is kept:
``tax = subtotal x quote.tax / quote.subtotal``, rounded half-even to the quote's tax decimals
(at least 4).  The sandbox's tax is 0, so there the what-if tax is 0 too.  An unchanged text
gives back the quote's own numbers, destinations and totals exactly.

The destinations are regrouped by (destination, rate), so ``price`` is the per-number rate
(the API's destination price is that rate too).  No string or Decimal is hashed per row: a
categorical ``destination`` (``Quote.build`` writes one) gives its codes, and rows are grouped by the
rate object they hold (``Quote.build`` interns one per distinct rate), then those few objects by
value -- any frame works, the representation only makes it fast.
"""
from __future__ import annotations

import ctypes
import dataclasses
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol, TypeVar

import numpy as np
import pandas as pd

from ..core import spec
from ..core.display import MAX_LISTED
from ..core.errors import ValidationError
from ..core.money import PLACES as RATE_PLACES
from ..core.money import is_missing, money_column, parse_money, units_to_money
from ..text.counts import segment_counts
from ..text.templates import align, fill_template
from .history import with_rates
from .offline import message_segments, unsendable_texts_error


class Priced(Protocol):
    """What re-pricing reads of a quote (``pricing.quote.Quote`` is one; it imports this module
    for ``Quote.reprice``, so this module names the shape instead of the class)."""

    numbers: pd.DataFrame
    destinations: pd.DataFrame
    subtotal: Decimal
    tax: Decimal


Quote = TypeVar("Quote", bound=Priced)

WHAT_IF = "what-if"
_INT64_MAX = np.iinfo(np.int64).max


def reprice(quote: Quote, message: str | None = None, template: str | None = None,
            data: pd.DataFrame | None = None, *, rates: pd.DataFrame | None = None) -> Quote:
    """``quote`` re-priced for ``message`` (one text for all) or ``template`` filled per row from
    ``data``; a new ``Quote`` with ``source == "what-if"`` and ``chunks == 0`` (no API call).
    ``rates``: price at another rate card (``pricing.history.rates_at(date)``, or any frame like
    ``client.rates()``) instead of the quote's own rates; without a text, the quote's message.

    >>> cheaper = quote.reprice(message="Sale today!")                            # doctest: +SKIP
    >>> personal = quote.reprice(template="Hi {name}!", data=audience)           # doctest: +SKIP
    >>> last_month = reprice(quote, quote.message, rates=at("2026-11-01"))       # doctest: +SKIP
    """
    if rates is not None:  # another card: swap each number's rate, then price as below
        quote, message = with_rates(quote, rates), quote.message if message is None and template is None else message
    sms, text = _sms(quote, message, template, data)
    numbers = quote.numbers
    codes, scale, rate_units = _rate_units(numbers["rate"])
    if np.isscalar(sms):
        # One text: every total is rate x sms; Decimal objects made once per distinct rate.
        unit_totals = [u * int(sms) for u in rate_units]
        total_column = np.array([units_to_money(u, scale) for u in unit_totals], dtype=object)[codes]
        counts = np.bincount(codes, minlength=len(rate_units))
        subtotal_units = sum(int(c) * u for c, u in zip(counts.tolist(), unit_totals))
        row_units = None  # the destinations follow from the counts
        sms_column = np.full(len(codes), int(sms), dtype=np.int64)
    else:
        sms_column = np.asarray(sms, dtype=np.int64)
        if not _fits(rate_units, int(sms_column.max(initial=0)), len(codes)):
            raise OverflowError("what-if: rates x SMS counts exceed 64-bit integers; re-price in smaller parts")
        row_units = _int64(rate_units)[codes] * sms_column
        total_column = money_column(row_units, scale)
        subtotal_units = int(row_units.sum())
    new_numbers = numbers.assign(sms=sms_column, total=pd.Series(total_column, index=numbers.index, dtype=object))
    subtotal = units_to_money(subtotal_units, scale)
    tax = _tax(quote, subtotal)
    return dataclasses.replace(
        quote,
        message=text,
        numbers=new_numbers,
        destinations=_destinations(new_numbers, codes, rate_units, scale, row_units, list(quote.destinations.columns),
                                   int(sms) if np.isscalar(sms) else None),
        sms_count=int(sms_column.sum()),
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        chunks=0,
        source=WHAT_IF,
    )


def _sms(quote: Quote, message: str | None, template: str | None, data: pd.DataFrame | None) -> tuple[Any, str]:
    """SMS parts: one int for a single text, or an int array (one per quote row) for a template."""
    if (message is None) == (template is None):
        raise TypeError("reprice() needs exactly one of message= (one text) or template= (with data=)")
    if message is not None:
        if data is not None:
            raise TypeError("reprice(): data= goes with template=, not with message=")
        if not isinstance(message, str):
            raise TypeError(f"reprice(): message must be a str, got {type(message).__name__}")
        return np.int64(message_segments(message)), message
    if data is None:
        raise TypeError("reprice(template=...) needs data=: a DataFrame with a column per placeholder")
    numbers = quote.numbers["number"].tolist()
    texts = fill_template(template, align(data, numbers))  # type: ignore[arg-type]
    empty = np.flatnonzero(texts.map(len).to_numpy() == 0)
    if len(empty):
        raise ValidationError(f"template gives an empty text for {len(empty)} recipient(s): "
                              f"{[numbers[i] for i in empty[:MAX_LISTED]]}",
                              field_errors={"message": [spec.MSG_MISSING_MESSAGE]})
    texts = texts.reset_index(drop=True)
    counts = segment_counts(texts)
    if (refused := unsendable_texts_error(texts, numbers, counts)) is not None:
        raise refused
    return counts["segments"].to_numpy(np.int64), template  # type: ignore[return-value]


def _rate_units(rates: pd.Series) -> tuple[np.ndarray, int, list[int]]:
    """(code per row, scale, integer units per distinct rate): rate = units / scale exactly.

    Rows are grouped first by the rate *object* they hold (``Quote.build`` interns the API's rates,
    one Decimal object per distinct rate), then those few objects by value: equal rates held by
    different objects share a code, as with a value factorize, but no Decimal is hashed per row."""
    codes, first = _object_codes(rates.to_numpy())
    objects = rates.to_numpy()[first]
    missing = [j for j, value in enumerate(objects.tolist()) if is_missing(value)]
    if missing:
        row = rates.index[[int(min(first[j] for j in missing))]].tolist()[0]
        raise ValueError(f"quote.numbers row {row!r}: rate is missing")
    by_value, uniques = pd.factorize(objects)  # a few objects: equal values merge, first seen kept
    codes = by_value.astype(np.int64)[codes]
    decimals = []
    for value in np.asarray(uniques, dtype=object).tolist():
        rate = parse_money(value, "quote.numbers: rate")
        if rate < 0:
            raise ValueError(f"quote.numbers: rate {value!r} is not a finite amount >= 0")
        decimals.append(rate)
    places = max([RATE_PLACES] + [-int(r.as_tuple().exponent) for r in decimals])
    scale = 10**places
    return codes, scale, [int(r.scaleb(places)) for r in decimals]


def _object_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, first row of each code) grouping an object column by identity: the rows'
    object addresses, read from the array's own buffer while it holds them, factorized as int64
    (no per-row Python call).  Other dtypes: a plain value factorize."""
    if values.dtype != object or not len(values) or values.itemsize != ctypes.sizeof(ctypes.c_ssize_t):
        codes, _ = pd.factorize(values, use_na_sentinel=False)
    else:
        held = np.ascontiguousarray(values)  # keeps every object alive while its address is read
        addresses = np.ctypeslib.as_array((ctypes.c_ssize_t * len(held)).from_address(held.ctypes.data)).copy()
        codes, _ = pd.factorize(addresses)
    codes = codes.astype(np.int64)
    return codes, _first_rows(codes)


def _first_rows(codes: np.ndarray) -> np.ndarray:
    """The first row of each code of a first-seen factorize (codes 0, 1, 2... in row order): a
    row opens a code when it exceeds every code before it."""
    opens = np.ones(len(codes), dtype=bool)
    if len(codes) > 1:
        opens[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return np.flatnonzero(opens)


def _fits(rate_units: list[int], sms: int, rows: int) -> bool:
    """Whether every row total and the grand total fit in int64."""
    return max(rate_units, default=0) * max(sms, 1) * max(rows, 1) <= _INT64_MAX


def _int64(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def _tax(quote: Quote, subtotal: Decimal) -> Decimal:
    if quote.tax == 0:
        return Decimal(0)
    if quote.subtotal == 0:
        return quote.tax  # no ratio to keep: a flat amount stays flat
    places = max(RATE_PLACES, -int(quote.tax.as_tuple().exponent))
    exact = subtotal * quote.tax / quote.subtotal
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)


def _group_sum(groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Exact int64 sums per group: np.bincount (float64 weights add integers exactly while the
    total stays below 2**53), else np.add.at."""
    if not len(values) or int(np.abs(values).max()) * len(values) < 2**53:
        return np.rint(np.bincount(groups, weights=values, minlength=size)).astype(np.int64)
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, groups, values)
    return out


def _destinations(numbers: pd.DataFrame, codes: np.ndarray, rate_units: list[int], scale: int,
                  row_units: np.ndarray | None, columns: list[str], one_sms: int | None = None) -> pd.DataFrame:
    """One row per (destination, rate), sorted as ``Quote`` sorts them (biggest total first)."""
    dest_codes, dest_names = _destination_codes(numbers["destination"])
    key = dest_codes.astype(np.int64) * max(len(rate_units), 1) + codes
    span = len(dest_names) * max(len(rate_units), 1)
    if span <= 2 * len(key) + 4096:  # few (destination, rate) pairs: count them densely, no hashing
        first_of = np.full(span, len(key), dtype=np.int64)
        np.minimum.at(first_of, key, np.arange(len(key), dtype=np.int64))  # each pair's first row
        present = np.flatnonzero(first_of < len(key))
        first, slots, size = first_of[present], key, span
    else:  # groups by hash (no sort), first-seen order: a row opens a group when its code is new
        slots = pd.factorize(key)[0].astype(np.int64)
        first = _first_rows(slots)
        present, size = np.arange(len(first)), len(first)
    groups = len(first)
    count = np.bincount(slots, minlength=size)[present]
    rate_of_group = codes[first]
    if one_sms is not None:  # one text: a group's parts and total follow from its count
        sms = count * one_sms
        total_units = [rate_units[int(r)] * int(s) for r, s in zip(rate_of_group.tolist(), sms.tolist())]
    else:
        sms = _group_sum(slots, numbers["sms"].to_numpy(np.int64), size)[present]
        assert row_units is not None
        total_units = _group_sum(slots, row_units, size)[present].tolist()
    names = np.asarray(dest_names, dtype=object)[dest_codes[first]]
    destination_dtype = "string" if isinstance(numbers["destination"].dtype, pd.CategoricalDtype) \
        else numbers["destination"].dtype  # a table of destinations is plain text, as Quote.build writes it
    order = sorted(range(groups), key=lambda g: (-total_units[g], names[g], rate_units[int(rate_of_group[g])]))
    rows = first[order]
    return pd.DataFrame({
        "destination": numbers["destination"].iloc[rows].reset_index(drop=True).astype(destination_dtype),
        "country": numbers["country"].iloc[rows].reset_index(drop=True),
        "operator": numbers["operator"].iloc[rows].reset_index(drop=True),
        "numbers": pd.Series(count[order], dtype="int64"),
        "sms_count": pd.Series(sms[order], dtype="int64"),
        "price": pd.Series([units_to_money(rate_units[int(rate_of_group[g])], scale) for g in order], dtype=object),
        "total": pd.Series([units_to_money(total_units[g], scale) for g in order], dtype=object),
    }, columns=columns)


def _destination_codes(destination: pd.Series) -> tuple[np.ndarray, Any]:
    """(code per row, names): a categorical column's own codes (``Quote.build`` writes one),
    else a hash factorize; a missing destination is a group of its own."""
    if isinstance(destination.dtype, pd.CategoricalDtype):
        codes = destination.cat.codes.to_numpy()
        if not (codes < 0).any():
            return codes, destination.cat.categories
    return pd.factorize(destination, use_na_sentinel=False)
