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

import pandas as pd

from ..core import spec
from ..core.display import card, readable
from ..core.money import format_money
from ..numbers.normalize import normalize_numbers
from ..text.advice import advise
from ..text.alphabet import GSM7_NAME, UCS2_NAME
from ..text.counts import segment_counts
from ..text.templates import fill_template, placeholders
from .audit import phone_column
from .offline import OfflineEstimate, offline_estimate
from .rate_table import RateTable

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


def _price(numbers: pd.Series, frame: pd.DataFrame | None, variant: str, table: RateTable | Any,
           default_region: str | None) -> _Priced:
    template = bool(placeholders(variant))
    if template and frame is None:
        raise TypeError(f"variant {variant!r} is a template: pass the audience as a DataFrame with its columns")
    if not isinstance(table, RateTable):  # an API quote: re-priced for the variant, no API call
        if template:
            # rows matched to the quote's numbers by number (``align``): the first row of a repeated one wins
            digits = normalize_numbers(numbers, default_region)[0]  # national numbers read as the quote read them
            again = table.reprice(template=variant, data=frame.assign(number=list(digits)))
        else:
            again = table.reprice(message=variant)
        return _Priced(again.numbers["sms"], int(again.sms_count), again.total)
    est: OfflineEstimate = offline_estimate(numbers, variant, table, data=frame if template else None,
                                            default_region=default_region)
    return _Priced(est.placed["sms"], est.sms_count, est.totals.expected)


def _texts_ucs2(frame: pd.DataFrame | None, variant: str) -> tuple[str, list[str]]:
    """(encoding, the characters of the filled texts that force UCS-2, beyond the template's own)."""
    if not placeholders(variant) or frame is None:
        return advise(variant).now.encoding, []
    texts = fill_template(variant, frame)
    counted = segment_counts(texts)
    ucs2 = counted["encoding"] == UCS2_NAME
    encoding = MIXED if 0 < ucs2.sum() < len(counted) else (UCS2_NAME if ucs2.all() and len(counted) else GSM7_NAME)
    # characters brought by the merge fields: from the distinct UCS-2 texts' advice
    extra: list[str] = []
    template_chars = {f.char for f in advise(variant).forcing}
    for text in pd.unique(texts[ucs2.to_numpy()])[:1000]:
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
        frame, numbers = None, audience if isinstance(audience, pd.Series) else pd.Series(list(audience), dtype=object)
    rows = []
    for variant in variants:
        est = _price(numbers, frame, variant, table, default_region)
        advice = advise(variant)
        encoding, merged_chars = _texts_ucs2(frame, variant)
        sms = est.sms
        chars = [f.char for f in advice.forcing] + merged_chars
        rewrite = advice.suggested_text if advice.suggested_text != variant else None
        if rewrite is not None and spec.is_blank(rewrite):  # only zero-width characters: nothing left to send
            rewrite = None
        if rewrite is not None:
            again = _price(numbers, frame, rewrite, table, default_region)
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
