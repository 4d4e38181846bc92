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

The engine (shared by the Dask path, which maps it over partitions, and the copy lab): cells
-> an ``S20`` byte column (``normalize_digits``, through Arrow, no Python string per number)
-> first copies by uint64 keys (``normalize_recipients``) -> places from the bytes
(``classify``) -> classes (a factorize of the category codes: a few thousand) -> rates per
class -> integer units per class with ``np.bincount`` -> one Decimal per class or group.
Per-number Decimal columns are takes of per-class Decimals.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from decimal import Decimal
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd

from ..audience.recipients import Recipients, normalize_recipients
from ..numbers.normalize import numbers_series
from ..core import spec
from ..core.display import COUNTRY_DEFAULT, MAX_LISTED, card, readable, warn
from ..core.errors import ValidationError
from ..core.money import format_money, money_column, units_to_money
from ..numbers.classify import classify
from ..text.counts import segment_counts
from ..text.alphabet import UCS2_NAME
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
_CLASS_COLUMNS = ["region", "country", "operator", "mcc", "mnc"]
_MONEY = ("low", "expected", "high")
_INT64_MAX = np.iinfo(np.int64).max


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
    # The engine's per-class sums (placed classes: keys, basis, numbers, sms, low/expected/high
    # integer units): the summaries add these up, one Decimal per group.  None: sum .rows.
    groups: pd.DataFrame | None = field(default=None, repr=False)

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
        if self.groups is not None:
            return summarise_units(self.groups, keys)
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
        if self.groups is not None:
            counts = (self.groups.groupby(["country", "basis"], observed=True, dropna=False)["numbers"].sum()
                      .unstack("basis", fill_value=0))
        else:
            counts = pd.crosstab(self.placed["country"], self.placed["basis"])
        counts = counts.reindex(columns=list(BASES[:3]), fill_value=0).astype("int64")
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


def summarise_units(groups: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per-class integer sums -> the summary by ``keys``: integer sums per group (Python ints
    where int64 could wrap), one Decimal per group and money column, biggest first."""
    values = groups[keys + ["numbers", "sms", *_MONEY]]
    out = values.groupby(keys, observed=True, dropna=False, sort=False).sum().reset_index()
    out = out.astype({"numbers": "int64", "sms": "int64"})
    for column in _MONEY:
        out[column] = pd.Series([units_to_money(int(u)) for u in out[column].tolist()], dtype=object,
                                index=out.index)
    return order_summary(out, keys)


class Priced(NamedTuple):
    """Numbers placed and priced by ``price_numbers``: one entry per number, in order, and the
    classes they fall in (numbers of one class share a place, basis and rates).  Per-number
    basis, rates and reasons are taken from the classes on demand (they are not kept)."""

    placed: pd.DataFrame  # classify() of the numbers: number, region, country, operator, mcc, mnc
    codes: np.ndarray  # class of each number (int32)
    classes: pd.DataFrame  # one row per class: region, country, operator, mcc, mnc, basis, rate units, reason

    def take(self, which: Any) -> "Priced":
        """The numbers ``which`` selects (a slice or positions), in that order, on the same classes."""
        return Priced(self.placed.iloc[which], self.codes[which], self.classes)

    @property
    def basis(self) -> np.ndarray:
        """int8 index into BASES, per number."""
        return self.classes["basis"].to_numpy(np.int8)[self.codes]

    @property
    def rates(self) -> np.ndarray:
        """[3, n] int64 low / expected / high rate units per number (-1: unplaced)."""
        return self.classes[["rate_low", "rate_expected", "rate_high"]].to_numpy(np.int64).T[:, self.codes]

    @property
    def reasons(self) -> np.ndarray:
        """Why each number is unplaced (None where it is priced), object."""
        return self.classes["reason"].to_numpy(dtype=object)[self.codes]


def price_numbers(numbers: Sequence[str] | np.ndarray, table: RateTable) -> Priced:
    """Place normalised numbers (``classify``) and price them from ``table``: the per-number
    kernel both the in-memory estimate and the Dask one (``pricing.distributed``) run.  The
    rates are looked up once per class (a few thousand), then taken per number."""
    placed = classify(numbers if isinstance(numbers, np.ndarray) else list(numbers),
                      normalized=True)  # recipients are normalised already (an S20 column: numbers.digits)
    placed = placed.drop(columns=["valid", "reason"])  # nothing refused here; the table decides "placed"
    codes, classes = _classes(placed[_CLASS_COLUMNS])
    # categorical columns give NaN for missing: anything but text is missing
    priced = [_price_class(table, *(v if isinstance(v, str) else None for v in c))
              for c in classes[["region", "country", "mcc", "mnc"]].astype(object).itertuples(index=False, name=None)]
    k = len(priced)
    class_basis = np.fromiter((p[0] for p in priced), dtype=np.int8, count=k)
    class_rates = np.array([p[1] for p in priced], dtype=np.int64).reshape(k, 3).T
    class_reason = np.fromiter((p[2] for p in priced), dtype=object, count=k)
    classes = classes.assign(basis=class_basis, rate_low=class_rates[0], rate_expected=class_rates[1],
                             rate_high=class_rates[2], reason=class_reason)
    return Priced(placed, codes, classes)


def empty_text_error(count: int, numbers: Sequence[str]) -> ValidationError:
    """The refusal of ``count`` recipients whose text is empty, the first ``numbers`` listed."""
    return ValidationError(f"{count} recipient(s) get an empty text: {list(numbers)[:MAX_LISTED]}",
                           field_errors={"message": [spec.MSG_MISSING_MESSAGE]})


def unsendable_texts_error(texts: pd.Series, numbers: Sequence[str], counts: pd.DataFrame) -> ValidationError | None:
    """The refusal of per-recipient texts that hold a lone surrogate (``spec.unsendable``),
    naming how many and the first recipient; None when every text can be sent.  Only the texts
    ``counts`` (their ``segment_counts``) found UCS-2 are looked at: a surrogate is never GSM-7."""
    encoding = counts["encoding"].cat
    ucs2 = np.flatnonzero(encoding.codes.to_numpy() == encoding.categories.get_loc(UCS2_NAME))
    bad = ucs2[spec.unsendable_rows(texts.to_numpy(dtype=object)[ucs2].tolist())] if len(ucs2) else ucs2
    if not len(bad):
        return None
    said = spec.unsendable(texts.iat[bad[0]])
    return ValidationError(f"{len(bad)} recipient(s) get a text that cannot be sent, first {numbers[bad[0]]}'s: "
                           f"{said}", field_errors={"message": [said]})


def check_message(message: Any) -> str:
    """One text as a request could carry it: the documented 'message not sent' refusal for an
    empty or non-text message, and a text holding a lone surrogate refused (``spec.unsendable``)."""
    if not isinstance(message, str) or spec.is_blank(message):
        raise ValidationError(spec.MSG_MISSING_MESSAGE, field_errors={"message": [spec.MSG_MISSING_MESSAGE]})
    if said := spec.unsendable(message):
        raise ValidationError(f"message: {said}", field_errors={"message": [said]})
    return message


def message_segments(message: str) -> int:
    """SMS parts of one text for every recipient (``check_message`` first)."""
    return segments(check_message(message)).segments


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
    _check_message_type(message)
    table = rates if isinstance(rates, RateTable) else RateTable.from_frame(rates)
    values = numbers_series(numbers)
    labels, values = values.index, values.reset_index(drop=True)
    people = normalize_recipients(values, on_invalid="report", default_region=default_region)
    positions = people.positions  # input row of each recipient (normalize_recipients keeps first-seen order)
    invalid, duplicates = people.invalid, people.duplicates
    sms = _sms(message, data, people, len(values), default_region)
    priced = price_numbers(people.digits, table)
    del people  # its digits (20 bytes a number) are in priced.placed now, as Arrow text
    groups = class_groups(priced, sms)
    totals = Totals(*(units_to_money(sum(int(u) for u in groups[name].tolist())) for name in _MONEY))
    text = message if isinstance(message, str) else None
    return OfflineEstimate(
        message=text,
        rows=_rows(priced, sms),
        unplaced=_unplaced(invalid, values, labels, priced, positions),
        duplicates=_relabel(duplicates, labels, ["index", "first_index"]),
        totals=totals,
        currency=table.currency,
        groups=groups,
    )


def class_groups(priced: Priced, sms: np.ndarray) -> pd.DataFrame:
    """The placed classes with their numbers, SMS parts and low / expected / high cost units:
    counted with np.bincount over the class codes; a class's cost is its rate x its parts
    (one rate per class), so no per-number money is summed."""
    classes = priced.classes
    k = len(classes)
    numbers = np.bincount(priced.codes, minlength=k).astype(np.int64)
    if len(sms) and int(sms.max()) == int(sms.min()):  # one text: parts = numbers x its parts
        parts = numbers * int(sms[0])
    elif int(sms.sum()) < 2**53:  # float64 weights add integers exactly below 2**53
        parts = np.rint(np.bincount(priced.codes, weights=sms, minlength=k)).astype(np.int64)
    else:
        parts = np.zeros(k, dtype=np.int64)
        np.add.at(parts, priced.codes, sms)
    out = classes[["country", "operator", "mcc", "mnc"]].assign(
        basis=pd.Categorical.from_codes(classes["basis"].to_numpy(np.int8).clip(0, 3), dtype=BASIS_DTYPE),
        numbers=numbers, sms=parts)
    wide = int(classes[["rate_high"]].to_numpy().max(initial=0)) * int(parts.sum()) > _INT64_MAX
    for name in _MONEY:
        rate = classes[f"rate_{name}"].to_numpy(np.int64)
        out[name] = ([int(r) * int(p) for r, p in zip(rate.tolist(), parts.tolist())] if wide
                     else rate * parts)
        if wide:
            out[name] = out[name].astype(object)
    return out[(classes["basis"].to_numpy() < 3) & (numbers > 0)].reset_index(drop=True)


def _check_message_type(message: Any) -> None:
    """One text, or one text per number: anything else is refused before any work is done."""
    if isinstance(message, (str, pd.Series)):
        return
    if isinstance(message, (bytes, bytearray, Mapping, pd.DataFrame)) or not isinstance(message, Iterable):
        raise TypeError(f"message must be a str (one text for every number), a list or Series of str (one text "
                        f"per number) or, with data=, a '{{column}}' template; got {type(message).__name__}")


def _sms(message: Any, data: pd.DataFrame | None, people: Recipients, size: int,
         default_region: str | None = None) -> np.ndarray:
    """SMS parts per kept recipient."""
    n, positions = len(people), people.positions
    if data is not None:
        if not isinstance(message, str):
            raise TypeError("with data=, message is a str.format template such as 'Hi {name}'")
        texts = fill_template(message, align(data, people.numbers, list(positions), size=size,
                                             default_region=default_region)).reset_index(drop=True)
    elif isinstance(message, str):
        return np.full(n, message_segments(message), dtype=np.int64)
    else:
        per_row = message if isinstance(message, pd.Series) else pd.Series(list(message), dtype=object)
        if len(per_row) != size:
            raise ValueError(f"message has {len(per_row)} texts for {size} numbers: one text per number, in order")
        texts = per_row.reset_index(drop=True).iloc[positions].reset_index(drop=True)
    empty = np.flatnonzero(np.asarray(texts.to_numpy(dtype=object) == "", dtype=bool))
    if len(empty):
        raise empty_text_error(len(empty), [people.numbers[i] for i in empty[:MAX_LISTED]])
    counts = segment_counts(texts)
    if (refused := unsendable_texts_error(texts, people.numbers, counts)) is not None:
        raise refused
    return counts["segments"].to_numpy(np.int64)


def _classes(keys: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """(class index per row, the distinct rows of ``keys`` in first-seen order, dtypes kept).

    classify's columns are categoricals: their integer codes are combined into one int64 and
    factorized by hash (no sort); any other columns are factorized as a MultiIndex."""
    if not len(keys):
        return np.zeros(0, dtype=np.int32), keys.iloc[:0].reset_index(drop=True)
    columns = [keys[c] for c in keys.columns]
    sizes = [len(c.cat.categories) + 1 if isinstance(c.dtype, pd.CategoricalDtype) else 0 for c in columns]
    if all(sizes) and float(np.prod(sizes, dtype=np.float64)) < 2**62:
        flat = np.zeros(len(keys), dtype=np.int64)  # mixed-radix number of the codes, one column at a time
        for column, size in zip(columns, sizes):
            flat *= size
            flat += column.cat.codes.to_numpy()
            flat += 1
        # a few thousand classes: a table sized for them, not for every row (pandas' default)
        codes = pd.factorize(flat, size_hint=min(len(flat), 1 << 12))[0]
        del flat
    else:
        values = keys.astype(object)
        codes = pd.MultiIndex.from_frame(values.where(values.notna(), None)).factorize()[0]
    codes = codes.astype(np.int32)  # classes number a few thousand; half the memory of int64
    seen = np.maximum.accumulate(codes)
    first = np.ones(len(codes), dtype=bool)  # first-seen codes: a first row is above all before it
    np.greater(codes[1:], seen[:-1], out=first[1:])
    return codes, keys.iloc[np.flatnonzero(first)].reset_index(drop=True)


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


def _rows(priced: Priced, sms: np.ndarray) -> pd.DataFrame:
    """The per-number rows: Decimal money made once per class (rates) or per distinct cost.

    Columns go in one by one as Series with their dtype said (object, int64): pandas neither
    copies nor scans them (a bare object array set into a frame is copied and inspected, and
    DataFrame(dict) copies same-dtype columns into one block: +40 MB each at 1M)."""
    placed = priced.placed
    index = placed.index
    codes = priced.codes

    def column(values: np.ndarray, dtype: Any) -> pd.Series:
        return pd.Series(values, index=index, dtype=dtype, copy=False)

    columns: dict[str, Any] = {name: placed[name] for name in ("number", "region", "country", "operator", "mcc", "mnc")}
    columns["sms"] = column(np.asarray(sms, dtype=np.int64), np.int64)
    one_text = len(sms) and int(sms.max()) == int(sms.min())
    class_ok = priced.classes["basis"].to_numpy() < 3
    for name in _MONEY:
        class_rate = priced.classes[f"rate_{name}"].to_numpy(np.int64)
        columns[f"rate_{name}"] = column(money_column(class_rate)[codes] if len(sms) else money_column(class_rate),
                                         object)
    for name in _MONEY:
        class_rate = priced.classes[f"rate_{name}"].to_numpy(np.int64)
        if one_text:  # every number of a class costs the same
            cost = money_column(np.where(class_ok, class_rate * int(sms[0]), -1))[codes]
        else:
            cost = money_column(np.where(class_ok[codes], class_rate[codes] * sms, -1))
        columns[name] = column(cost, object)
    columns["basis"] = column(pd.Categorical.from_codes(priced.basis, dtype=BASIS_DTYPE), BASIS_DTYPE)
    frame = pd.DataFrame(index=index)
    for name in ROWS_COLUMNS:  # one block per column: DataFrame(dict) would copy the object columns into one
        frame[name] = columns[name]
    return frame


def _relabel(frame: pd.DataFrame, labels: pd.Index, columns: list[str]) -> pd.DataFrame:
    """Positions (as normalize_recipients saw them) back to the caller's Series labels."""
    out = frame.copy()
    for column in columns:
        out[column] = pd.Series(labels.take(frame[column].to_numpy(np.int64)).to_numpy(dtype=object), dtype=object)
    return out


def _unplaced(invalid: pd.DataFrame, values: pd.Series, labels: pd.Index, priced: Priced,
              positions: np.ndarray) -> pd.DataFrame:
    """Every input row not priced, with its reason: the refused rows, then the numbers the
    table cannot place (built column by column)."""
    which = np.flatnonzero((priced.classes["basis"].to_numpy() == 3)[priced.codes])
    rows = positions[which]

    def text(name: str) -> np.ndarray:
        column = priced.placed[name].iloc[which]
        return column.astype(object).where(column.notna(), None).to_numpy(dtype=object)

    bad = invalid["index"].to_numpy(np.int64)
    none = np.full(len(bad), None, dtype=object)
    columns = {
        "index": np.concatenate([labels.take(bad).to_numpy(dtype=object), labels.take(rows).to_numpy(dtype=object)]),
        "value": np.concatenate([invalid["value"].to_numpy(dtype=object), values.iloc[rows].to_numpy(dtype=object)]),
        "number": np.concatenate([none, text("number")]),
        "region": np.concatenate([none, text("region")]),
        "country": np.concatenate([none, text("country")]),
        "reason": np.concatenate([invalid["reason"].astype(object).to_numpy(dtype=object), priced.classes["reason"].to_numpy(dtype=object)[priced.codes[which]]]),
    }
    dtypes = [object, object, "string", "string", "string", "string"]
    return pd.DataFrame({name: pd.Series(columns[name], dtype=dtype) for name, dtype in zip(UNPLACED_COLUMNS, dtypes)})
