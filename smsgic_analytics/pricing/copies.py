"""Copy comparison: several message variants priced on one audience at once.

``compare_copies(audience, [variant, ...], rates=...)`` gives one row per variant: its
encoding, SMS parts per recipient (min / mean / max: a ``{column}`` template is filled per
row, so parts differ by row), total parts and cost (the offline estimate, ``pricing.offline``),
the characters that force UCS-2 with their code points and what ``smart_encode`` would write
instead (``text.advice``), and the money that rewrite saves on this audience (the rewrite
priced by the same estimate).  The cheapest variant is marked.

Given an API quote of the audience instead of a rates table (``rates=client.calculate(text,
numbers)``), every variant is the quote re-priced for it (``Quote.reprice``: the API's own
per-number rates, no further call), so its cost is what ``calculate`` would answer for it,
tax included, to the last digit.
"""
from __future__ import annotations

import html
from decimal import Decimal
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd

from ..audience.recipients import normalize_recipients
from ..numbers.normalize import numbers_series
from ..core import spec
from ..core.display import MAX_LISTED, card, readable
from ..core.money import format_money, units_to_money
from ..numbers.normalize import normalize_numbers
from ..text.advice import advise
from ..text.alphabet import GSM7_NAME, UCS2_NAME
from ..text.counts import segment_counts
from ..text.templates import TemplateError, fill_template, placeholders
from .audit import phone_column
from .offline import BASES, UNPLACED, empty_text_error, message_segments, price_numbers
from .rate_table import RateTable

BASES_EXPECTED = 1  # ``Priced.rates`` rows: low, expected, high
COPY_COLUMNS = ["variant", "encoding", "segments_min", "segments_mean", "segments_max", "recipients", "sms",
                "cost", "ucs2_chars", "rewrite", "rewrite_sms", "rewrite_cost", "rewrite_saves", "cheapest"]
MIXED = "mixed"  # a template whose filled texts are GSM-7 for some rows and UCS-2 for others


class CopyComparison(pd.DataFrame):
    """One row per variant (``COPY_COLUMNS``); shown in a notebook as the summary card.
    ``attrs``: ``currency``.  Operations on it give plain DataFrames."""

    @property
    def _constructor(self):
        return pd.DataFrame

    def _repr_html_(self) -> str:
        currency = self.attrs.get("currency")
        lines = []
        for row in self.itertuples(index=False):
            mark = " (cheapest)" if row.cheapest else ""
            label = html.escape(str(row.variant)[:60])
            lines.append((f"<b>{label}</b>{mark}" if row.cheapest else label,
                          f"{row.encoding}, {row.sms:,} SMS, {format_money(row.cost, currency)}"))
        shown = pd.DataFrame(self)[["variant", "encoding", "segments_max", "sms", "cost", "ucs2_chars",
                                    "rewrite_saves", "cheapest"]]
        basis = (" (the API's quote, re-priced per variant; tax included)" if self.attrs.get("basis") == "quote"
                 else " (offline estimate, from a rates table)")
        return card("Copy comparison", lines, note=basis,
                    table=readable(shown, currency), table_title="Variants")


class _Priced(NamedTuple):
    sms: pd.Series  # parts per priced recipient
    sms_count: int
    cost: Decimal


class _Audience(NamedTuple):
    """The audience priced once, for every variant: the numbers are normalised, placed and
    priced by one offline estimate; a variant only changes the parts per recipient."""

    rows: np.ndarray  # audience row (position) of each recipient the estimate kept, in its order
    placed: np.ndarray  # bool per kept recipient: it has a price
    units: np.ndarray  # int64 expected rate per kept recipient, in 10^-PLACES (0 where unplaced)
    numbers: list[str]  # the kept recipients' numbers (errors name them)

    @classmethod
    def of(cls, numbers: pd.Series, table: RateTable, default_region: str | None) -> "_Audience":
        # the offline estimate's own steps (``normalize_recipients``, then ``price_numbers``), without
        # the per-row Decimal frame it builds for its report: only the rates are needed here
        people = normalize_recipients(numbers.reset_index(drop=True), on_invalid="report",
                                      default_region=default_region)
        keep = np.ones(len(numbers), dtype=bool)
        keep[people.invalid["index"].to_numpy(np.int64)] = False
        keep[people.duplicates["index"].to_numpy(np.int64)] = False
        rows = np.flatnonzero(keep)  # recipients are kept in first-seen order
        if len(rows) != len(people.numbers):
            raise RuntimeError(f"compare_copies: {len(people.numbers)} recipients for {len(rows)} kept audience rows")
        priced = price_numbers(people.numbers, table)
        placed = priced.basis < BASES.index(UNPLACED)
        units = np.where(placed, priced.rates[BASES_EXPECTED], 0).astype(np.int64)
        return cls(rows, placed, units, list(people.numbers))

    def price(self, variant: str, frame: pd.DataFrame | None) -> tuple[_Priced, "_Filled | None"]:
        """The variant's parts and cost on this audience, and (a template) its filled texts' counts."""
        counted = None
        if placeholders(variant):
            if frame is None:
                raise TypeError(f"variant {variant!r} is a template: pass the audience as a DataFrame with its columns")
            counted, empty = _template_counts(variant, frame.iloc[self.rows])
            if len(empty):
                raise empty_text_error(len(empty), [self.numbers[i] for i in empty[:MAX_LISTED]])
            parts = counted.per_row("segments").astype(np.int64)
        else:
            parts = np.full(len(self.rows), message_segments(variant), dtype=np.int64)
        sms = parts[self.placed]
        cost = units_to_money(int((self.units[self.placed] * sms).sum()))
        return _Priced(pd.Series(sms), int(sms.sum()), cost), counted


class _Filled(NamedTuple):
    """A template filled per row, each distinct combination of its columns filled once."""

    codes: np.ndarray  # per row: which distinct text
    texts: np.ndarray  # the distinct texts (object)
    counts: pd.DataFrame  # segment_counts of the distinct texts

    def per_row(self, column: str) -> np.ndarray:
        return self.counts[column].to_numpy()[self.codes]


def _template_counts(template: str, rows: pd.DataFrame) -> tuple[_Filled, np.ndarray]:
    """The template filled per row (``_Filled``: names repeat, so each distinct combination of its
    columns is filled and counted once), and the positions whose text is empty."""
    columns = [c for c in placeholders(template) if c in rows.columns]
    if not len(rows):
        codes, distinct = np.zeros(0, dtype=np.int64), rows
    elif not columns:
        codes, distinct = np.zeros(len(rows), dtype=np.int64), rows.iloc[:1]
    else:
        keys = rows[columns[0]] if len(columns) == 1 else pd.MultiIndex.from_frame(rows[columns].astype(object))
        codes, uniques = pd.factorize(keys, use_na_sentinel=False)
        distinct = rows.iloc[_first_positions(codes, len(uniques))]
    try:
        texts = fill_template(template, distinct).reset_index(drop=True)
    except TemplateError:
        fill_template(template, rows)  # the error names every row at fault, not only the first of each value
        raise
    filled = _Filled(codes.astype(np.int64), texts.to_numpy(object), segment_counts(texts))
    empty = np.flatnonzero((texts.str.len() == 0).to_numpy(bool)[filled.codes])
    return filled, empty


def _first_positions(codes: np.ndarray, k: int) -> np.ndarray:
    first = np.full(k, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes), dtype=np.int64))
    return first


def _price(numbers: pd.Series, frame: pd.DataFrame | None, variant: str, table: Any,
           default_region: str | None) -> _Priced:
    """A variant on an API quote of the audience: the quote re-priced for it, no API call."""
    if placeholders(variant):
        if frame is None:
            raise TypeError(f"variant {variant!r} is a template: pass the audience as a DataFrame with its columns")
        digits = normalize_numbers(numbers, default_region)[0]  # national numbers read as the quote read them
        # rows matched to the quote's numbers by number (``align``): the first row of a repeated one wins
        again = table.reprice(template=variant, data=frame.assign(number=list(digits)))
    else:
        again = table.reprice(message=variant)
    return _Priced(again.numbers["sms"], int(again.sms_count), again.total)


def _texts_ucs2(frame: pd.DataFrame | None, variant: str, counted: "_Filled | None" = None) -> tuple[str, list[str]]:
    """(encoding, the characters of the filled texts that force UCS-2, beyond the template's own)."""
    if not placeholders(variant) or frame is None:
        return advise(variant).now.encoding, []
    if counted is None:
        counted = _template_counts(variant, frame)[0]
    distinct_ucs2 = (counted.counts["encoding"] == UCS2_NAME).to_numpy(bool)
    ucs2 = distinct_ucs2[counted.codes]
    encoding = MIXED if 0 < ucs2.sum() < len(ucs2) else (UCS2_NAME if ucs2.all() and len(ucs2) else GSM7_NAME)
    # characters brought by the merge fields: from the distinct UCS-2 texts' advice
    extra: list[str] = []
    template_chars = {f.char for f in advise(variant).forcing}
    for text in counted.texts[distinct_ucs2][:1000]:
        extra += [f.char for f in advise(text).forcing if f.char not in template_chars]
    return encoding, list(dict.fromkeys(extra))


def _code_points(chars: Sequence[str]) -> str:
    return ", ".join(f"{c!r} " + " ".join(f"U+{ord(x):04X}" for x in c) for c in chars)


def compare_copies(audience: Any, variants: Sequence[str], rates: pd.DataFrame | RateTable, *, phone: Any = None,
                   default_region: str | None = None) -> CopyComparison:
    """Price each of ``variants`` on ``audience`` (see the module docstring).

    ``audience``: a DataFrame (phone column found by name, or ``phone=``; a variant's
    ``{column}`` placeholders are filled from its columns), a Series or a list of numbers.
    ``rates``: a rates table (``client.rates()``; the expected cost), or an API quote of the
    audience (``client.calculate(text, numbers)``; what ``calculate`` answers, tax included).
    Money is exact Decimal.

    Columns: ``COPY_COLUMNS`` -- ``ucs2_chars`` names each character that forces UCS-2 with
    its code points; ``rewrite`` is the smart-encoded variant (None when nothing changes) and
    ``rewrite_saves`` what it saves on this audience.
    """
    if isinstance(variants, str) or not len(variants):
        raise TypeError("compare_copies() needs a list of variants (message texts or '{column}' templates)")
    if hasattr(rates, "reprice") and hasattr(rates, "numbers"):
        table: Any = rates  # an API quote of this audience
    else:
        table = rates if isinstance(rates, RateTable) else RateTable.from_frame(rates)
    if isinstance(audience, pd.DataFrame):
        frame: pd.DataFrame | None = audience
        numbers = audience[phone_column(audience, phone)]
    else:
        frame, numbers = None, numbers_series(audience)
    audience = _Audience.of(numbers, table, default_region) if isinstance(table, RateTable) else None

    def price(text: str) -> tuple[_Priced, _Filled | None]:
        if audience is None:
            return _price(numbers, frame, text, table, default_region), None
        return audience.price(text, frame)

    rows = []
    for variant in variants:
        est, counted = price(variant)
        advice = advise(variant)
        encoding, merged_chars = _texts_ucs2(frame, variant, counted)
        sms = est.sms
        chars = [f.char for f in advice.forcing] + merged_chars
        rewrite = advice.suggested_text if advice.suggested_text != variant else None
        if rewrite is not None and spec.is_blank(rewrite):  # only zero-width characters: nothing left to send
            rewrite = None
        if rewrite is not None:
            again = price(rewrite)[0]
            rewrite_sms, rewrite_cost = again.sms_count, again.cost
            saves = est.cost - rewrite_cost
        else:
            rewrite_sms, rewrite_cost, saves = est.sms_count, est.cost, Decimal(0)
        rows.append((variant, encoding, int(sms.min()) if len(sms) else 0, float(sms.mean()) if len(sms) else 0.0,
                     int(sms.max()) if len(sms) else 0, len(sms), est.sms_count, est.cost,
                     _code_points(chars), rewrite, rewrite_sms, rewrite_cost, saves))
    out = pd.DataFrame(rows, columns=COPY_COLUMNS[:-1])
    for k, column in enumerate(COPY_COLUMNS[:-1]):  # object columns keep None and Decimals as they are
        if column in ("rewrite", "cost", "rewrite_cost", "rewrite_saves"):
            out[column] = pd.Series([r[k] for r in rows], dtype=object)
    cheapest = min(range(len(rows)), key=lambda i: rows[i][7])  # the first of equal costs
    out["cheapest"] = [i == cheapest for i in range(len(rows))]
    result = CopyComparison(out)
    result.attrs["currency"] = table.currency
    result.attrs["basis"] = "offline" if isinstance(table, RateTable) else "quote"
    return result
