"""Offline estimate: a campaign's cost range from a rates table, with no token and no API call.

Each recipient is normalised as the client does (``normalize_recipients``: invalid rows and
duplicates are listed, not priced), placed with ``classify`` (region, country, operator,
MCC, MNC) and priced with the rates table (``rate_table``) on one of four bases:

==================  =======================================================================
basis               rule
==================  =======================================================================
operator rate       the table has the number's (mcc, mnc) row: low = expected = high = it
country default     mcc known, operator unknown or not in the table, and the country has a
                    default row: expected = that default, low / high = the lowest / highest
                    of the country's rows (default included)
country range       the country is found (by name, or by an mcc only one country lists) but
                    the number's mcc is unknown or the country has no default row: low / high
                    = lowest / highest of its rows, expected = its default if any, else high
unplaced            no country, or a country the table has no rates for: no cost; the row
                    stays in ``.rows`` and is listed with the reason in ``.unplaced``
==================  =======================================================================

Costs are ``rate x sms``: sms from ``segments(message)`` (one text) or ``segment_counts`` (one
text per recipient).  All money is integer ten-thousandths until the Decimal columns are
made, so totals are exact.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd

from ..audience.recipients import normalize_recipients
from ..core import spec
from ..core.display import COUNTRY_DEFAULT, MAX_LISTED, card, readable, warn
from ..core.errors import ValidationError
from ..core.money import format_money, money_column, units_to_money
from ..numbers.classify import classify
from ..text.counts import segment_counts
from ..text.segments import segments
from ..text.templates import align, fill_template
from .rate_table import RateTable

# A number priced at its country's default rate is said the way every table says it (core.display).
OPERATOR_RATE, COUNTRY_RANGE, UNPLACED = "operator rate", "country range", "unplaced"
BASES = (OPERATOR_RATE, COUNTRY_DEFAULT, COUNTRY_RANGE, UNPLACED)
BASIS_DTYPE = pd.CategoricalDtype(BASES, ordered=True)
ROWS_COLUMNS = ["number", "region", "country", "operator", "mcc", "mnc", "sms",
                "rate_low", "rate_expected", "rate_high", "low", "expected", "high", "basis"]
UNPLACED_COLUMNS = ["index", "value", "number", "region", "country", "reason"]
_CLASS_COLUMNS = ["region", "country", "mcc", "mnc"]
_MONEY = ("low", "expected", "high")


class Totals(NamedTuple):
    """The campaign's cost range over every placed recipient (exact Decimals)."""

    low: Decimal
    expected: Decimal
    high: Decimal


@dataclass(frozen=True, eq=False)
class OfflineEstimate:
    """A cost range per recipient, from a rates table (see the module docstring for the bases).

    ``rows``: one per unique valid recipient [number, region, country, operator, mcc, mnc, sms,
    rate_low, rate_expected, rate_high, low, expected, high (Decimal; None when unplaced),
    basis].  ``unplaced``: every input row not priced [index, value, number, region, country,
    reason] -- invalid inputs and numbers that cannot be placed.  ``duplicates``: repeats of a
    number, priced once (as the client does).  ``totals``: low / expected / high Decimals.
    """

    message: str | None
    rows: pd.DataFrame
    unplaced: pd.DataFrame
    duplicates: pd.DataFrame = field(repr=False)
    totals: Totals = Totals(Decimal(0), Decimal(0), Decimal(0))
    currency: str | None = None
    source: str = "offline"

    @property
    def placed(self) -> pd.DataFrame:
        """The rows that have a cost (basis other than unplaced)."""
        return self.rows[self.rows["basis"] != UNPLACED]

    @property
    def sms_count(self) -> int:
        """SMS parts over the placed recipients."""
        return int(self.placed["sms"].sum())

    def __repr__(self) -> str:
        t = self.totals
        return (f"OfflineEstimate(numbers={len(self.rows)}, unplaced={len(self.unplaced)}, low={t.low}, "
                f"expected={t.expected}, high={t.high}, currency={self.currency!r})")

    def _summary(self, keys: list[str]) -> pd.DataFrame:
        rows = self.placed
        grouped = rows.groupby(keys, observed=True, dropna=False, sort=False)
        out = grouped.agg(numbers=("number", "size"), sms=("sms", "sum"),
                          low=("low", "sum"), expected=("expected", "sum"), high=("high", "sum")).reset_index()
        out["sms"] = out["sms"].astype("int64")
        for column in _MONEY:  # an object column of Decimals sums exactly; keep them Decimal
            out[column] = out[column].astype(object)
        return order_summary(out, keys)

    def by_country(self) -> pd.DataFrame:
        """DataFrame[country, numbers, sms, low, expected, high, operator_rate, country_default,
        country_range] (money exact Decimal; the last three count numbers per basis), biggest first."""
        out = self._summary(["country"])
        counts = pd.crosstab(self.placed["country"], self.placed["basis"]).reindex(columns=list(BASES[:3]), fill_value=0)
        counts.columns = [b.replace(" ", "_") for b in BASES[:3]]
        return out.merge(counts.reset_index(), on="country", how="left")

    def by_operator(self) -> pd.DataFrame:
        """DataFrame[country, operator, mcc, mnc, basis, numbers, sms, low, expected, high], biggest first."""
        return self._summary(["country", "operator", "mcc", "mnc", "basis"])

    def _repr_html_(self) -> str:
        cur = html.escape(self.currency or "")
        t = self.totals
        bases = self.rows["basis"].value_counts().reindex(list(BASES), fill_value=0)
        lines = [
            ("Recipients", f"{len(self.rows):,}"),
            ("SMS parts (placed)", f"{self.sms_count:,}"),
            ("Low", format_money(t.low, cur)),
            ("<b>Expected</b>", f"<b>{format_money(t.expected, cur)}</b>"),
            ("High", format_money(t.high, cur)),
        ] + [(f"&nbsp;&nbsp;priced on {b}", f"{int(bases[b]):,}") for b in BASES[:3]]
        if len(self.duplicates):
            lines.append(("Duplicates merged", f"{len(self.duplicates):,}"))
        if len(self.unplaced):
            lines.append((warn("Not priced"), warn(f"{len(self.unplaced):,} (see <code>.unplaced</code>)")))
        return card("Offline estimate", lines, note=" (from a rates table, not an API quote)",
                    table=readable(self.by_country().head(10), self.currency), table_title="Top countries")


def order_summary(out: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Summary rows biggest first: expected cost descending, then the keys ascending (a
    categorical key sorts in its categories' order, missing last)."""
    return out.sort_values(["expected"] + keys, ascending=[False] + [True] * len(keys),
                           key=lambda s: s.map(float) if s.name in _MONEY else s).reset_index(drop=True)


class Priced(NamedTuple):
    """Numbers placed and priced by ``price_numbers``: one entry per number, in order."""

    placed: pd.DataFrame  # classify() of the numbers: number, valid, region, country, operator, mcc, mnc, reason
    basis: np.ndarray  # int8 index into BASES
    rates: np.ndarray  # [3, n] int64 low / expected / high rate units (-1: unplaced)
    reasons: dict[int, str]  # position -> why the number is unplaced


def price_numbers(numbers: Sequence[str], table: RateTable) -> Priced:
    """Place normalised numbers (``classify``) and price them from ``table``: the per-number
    kernel both the in-memory estimate and the Dask one (``pricing.distributed``) run."""
    placed = classify(list(numbers), normalized=True)  # recipients are normalised already
    basis, rates, reasons = _price(placed, table)
    return Priced(placed, basis, rates, reasons)


def empty_text_error(count: int, numbers: Sequence[str]) -> ValidationError:
    """The refusal of ``count`` recipients whose text is empty, the first ``numbers`` listed."""
    return ValidationError(f"{count} recipient(s) get an empty text: {list(numbers)[:MAX_LISTED]}",
                           field_errors={"message": [spec.MSG_MISSING_MESSAGE]})


def message_segments(message: str) -> int:
    """SMS parts of one text for every recipient; an empty text is the API's 'message not sent'."""
    if spec.is_blank(message):
        raise ValidationError(spec.MSG_MISSING_MESSAGE, field_errors={"message": [spec.MSG_MISSING_MESSAGE]})
    return segments(message).segments


def offline_estimate(numbers: Any, message: str | Sequence[str] | pd.Series, rates: pd.DataFrame | RateTable,
                     data: pd.DataFrame | None = None, *, default_region: str | None = None) -> OfflineEstimate:
    """Price ``message`` to ``numbers`` from ``rates`` (see the module docstring).

    ``message``: one text; a list/Series of texts, one per input row; or, with ``data``, a
    ``{column}`` template filled per recipient (``data`` matched by its ``number`` column, else
    by position to ``numbers``).  ``default_region`` reads national numbers (leading 0) as
    that region's, exactly as the client does.

    >>> est = offline_estimate(["+371 2000 0001"], "Hello", rates=client.rates())   # doctest: +SKIP
    >>> est.totals.expected                                                          # doctest: +SKIP
    """
    table = rates if isinstance(rates, RateTable) else RateTable.from_frame(rates)
    values = numbers if isinstance(numbers, pd.Series) else pd.Series(_as_list(numbers), dtype=object)
    labels, values = values.index, values.reset_index(drop=True)
    people = normalize_recipients(values, on_invalid="report", default_region=default_region)
    skipped = set(people.invalid["index"].tolist()) | set(people.duplicates["index"].tolist())
    positions = [i for i in range(len(values)) if i not in skipped]
    assert len(positions) == len(people.numbers)  # normalize_recipients keeps first-seen order
    sms = _sms(message, data, people.numbers, positions, len(values), default_region)
    placed, basis, unit_rates, reasons = price_numbers(people.numbers, table)
    rows = _rows(placed, sms, basis, unit_rates)
    totals = Totals(*(units_to_money(int((unit_rates[k] * sms)[basis < 3].sum())) for k in range(3)))
    text = message if isinstance(message, str) else None
    return OfflineEstimate(
        message=text,
        rows=rows,
        unplaced=_unplaced(people.invalid, values, labels, placed, positions, reasons),
        duplicates=_relabel(people.duplicates, labels, ["index", "first_index"]),
        totals=totals,
        currency=table.currency,
    )


def _as_list(numbers: Any) -> list[Any]:
    if isinstance(numbers, pd.DataFrame):
        raise TypeError("pass one column of numbers (a Series or list), not a whole DataFrame")
    if isinstance(numbers, (str, bytes, int)):
        return [numbers]
    return list(numbers)


def _sms(message: Any, data: pd.DataFrame | None, kept: Sequence[str], positions: list[int], size: int,
         default_region: str | None = None) -> np.ndarray:
    """SMS parts per kept recipient."""
    n = len(kept)
    if data is not None:
        if not isinstance(message, str):
            raise TypeError("with data=, message is a str.format template such as 'Hi {name}'")
        texts = fill_template(message, align(data, kept, positions, size=size, default_region=default_region)
                              ).reset_index(drop=True)
    elif isinstance(message, str):
        return np.full(n, message_segments(message), dtype=np.int64)
    else:
        per_row = message if isinstance(message, pd.Series) else pd.Series(list(message), dtype=object)
        if len(per_row) != size:
            raise ValueError(f"message has {len(per_row)} texts for {size} numbers: one text per number, in order")
        texts = per_row.reset_index(drop=True).iloc[positions].reset_index(drop=True)
    empty = np.flatnonzero(texts.map(lambda t: isinstance(t, str) and t == "").to_numpy(bool))
    if len(empty):
        raise empty_text_error(len(empty), [kept[i] for i in empty[:MAX_LISTED]])
    return segment_counts(texts)["segments"].to_numpy(np.int64)


def _price(placed: pd.DataFrame, table: RateTable) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """(basis code per row, [3, rows] low/expected/high rate units (-1: none), reason per unplaced row)."""
    codes, classes = _classes(placed[_CLASS_COLUMNS])
    # MultiIndex turns missing values into NaN: anything but text is missing
    priced = [_price_class(table, *(v if isinstance(v, str) else None for v in c)) for c in classes]
    basis = np.array([p[0] for p in priced], dtype=np.int8)[codes] if priced else np.zeros(0, np.int8)
    rates = np.array([p[1] for p in priced], dtype=np.int64).T[:, codes] if priced else np.zeros((3, 0), np.int64)
    reasons = {i: priced[codes[i]][2] for i in np.flatnonzero(basis == 3).tolist()}
    return basis, rates, reasons


def _classes(keys: pd.DataFrame) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """(class index per row, the distinct (region, country, mcc, mnc) classes; missing -> None).

    classify's columns are categoricals: their integer codes are combined and made unique
    with numpy (a MultiIndex over the values costs seconds per million rows); any other
    columns go through that MultiIndex."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64), []
    columns = [keys[c] for c in keys.columns]
    if all(isinstance(c.dtype, pd.CategoricalDtype) for c in columns):
        sizes = [len(c.cat.categories) + 1 for c in columns]
        if float(np.prod(sizes, dtype=np.float64)) < 2**62:
            flat = np.ravel_multi_index([c.cat.codes.to_numpy(np.int64) + 1 for c in columns], sizes)
            distinct, codes = np.unique(flat, return_inverse=True)
            parts = np.unravel_index(distinct, sizes)
            cats = [[None] + c.cat.categories.astype(object).tolist() for c in columns]
            classes = [tuple(cats[j][int(parts[j][k])] for j in range(len(columns))) for k in range(len(distinct))]
            return codes.reshape(-1), classes
    values = keys.astype(object)
    codes, found = pd.MultiIndex.from_frame(values.where(values.notna(), None)).factorize()
    return codes, list(found)


def _price_class(table: RateTable, region: str | None, country: str | None, mcc: str | None,
                 mnc: str | None) -> tuple[int, tuple[int, int, int], str | None]:
    """(basis index into BASES, (low, expected, high) units, reason when unplaced) for one class."""
    if mcc is not None and mnc is not None and (mcc, mnc) in table.operators:
        rate = table.operators[(mcc, mnc)]
        return 0, (rate, rate, rate), None
    key = country.casefold() if country else None
    if key not in table.countries and mcc is not None and len(table.countries_of_mcc.get(mcc, ())) == 1:
        key = next(iter(table.countries_of_mcc[mcc]))  # the table names the country differently
    found = table.countries.get(key) if key else None
    if found is None:
        if region is None:
            reason = "cannot place the number in a country (unknown or non-geographic calling code)"
        else:
            via = f", MCC {mcc}" if mcc else ", no MCC known"
            reason = f"the rates table has no rates for {country} ({region}{via})"
        return 3, (-1, -1, -1), reason
    if mcc is not None and found.default is not None:
        return 1, (found.low, found.default, found.high), None
    expected = found.default if found.default is not None else found.high
    return 2, (found.low, expected, found.high), None


def _rows(placed: pd.DataFrame, sms: np.ndarray, basis: np.ndarray, rates: np.ndarray) -> pd.DataFrame:
    ok = basis < 3
    frame = placed[["number", "region", "country", "operator", "mcc", "mnc"]].copy()
    frame["sms"] = sms
    for k, name in enumerate(_MONEY):
        frame[f"rate_{name}"] = money_column(rates[k])
        frame[name] = money_column(np.where(ok, rates[k] * sms, -1))
    frame["basis"] = pd.Categorical.from_codes(basis.astype(np.int8), dtype=BASIS_DTYPE)
    return frame[ROWS_COLUMNS]


def _relabel(frame: pd.DataFrame, labels: pd.Index, columns: list[str]) -> pd.DataFrame:
    """Positions (as normalize_recipients saw them) back to the caller's Series labels."""
    out = frame.copy()
    for column in columns:
        out[column] = pd.Series([labels[int(p)] for p in frame[column].tolist()], dtype=object)
    return out


def _unplaced(invalid: pd.DataFrame, values: pd.Series, labels: pd.Index, placed: pd.DataFrame,
              positions: list[int], reasons: dict[int, str]) -> pd.DataFrame:
    rows = [(labels[int(r.index)], r.value, None, None, None, r.reason) for r in invalid.itertuples(index=False)]
    for i, reason in sorted(reasons.items()):
        p = positions[i]
        region, country = placed["region"].iloc[i], placed["country"].iloc[i]
        rows.append((labels[p], values.iloc[p], placed["number"].iloc[i],
                     None if pd.isna(region) else region, None if pd.isna(country) else country, reason))
    columns = list(zip(*rows)) if rows else [()] * len(UNPLACED_COLUMNS)
    dtypes = [object, object, "string", "string", "string", "string"]
    return pd.DataFrame({name: pd.Series(list(col), dtype=dtype)
                         for name, col, dtype in zip(UNPLACED_COLUMNS, columns, dtypes)})
