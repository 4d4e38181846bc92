"""How things are shown: the words tables and charts share, the HTML summary card of quotes,
estimates and plans (``summary_table``, ``warn``), and tables for reading (``readable``).

Tables for reading: the same money formatting in every notebook table and app table.

``readable(df, currency)`` gives a copy of ``df`` to *look at* (its cells are text): every
money column (Decimal values) with the API's 4 decimals (``money.format_money``: ``110.4240``
beside ``121.5616``, never ``110.424``), the currency once, in the column header
(``total (GBP)``) instead of a ``currency`` column repeating it; a missing operator of a priced
row reads "country default" (that is how the API priced it); a float ``share`` is a percentage.
Compute on the original frame: ``readable`` is the last step before showing it.

>>> import pandas as pd; from decimal import Decimal
>>> readable(pd.DataFrame({"country": ["Latvia"], "operator": [None], "total": [Decimal("0.44")]}), "GBP")
  country         operator total (GBP)
0  Latvia  country default      0.4400
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

import pandas as pd

from .money import format_money, is_missing

# What a priced row without an operator means: the API names no operator ("Country ", with
# a trailing space) when it priced the number at its country's default rate, and /rates
# gives that rate as the row whose mnc is null.
COUNTRY_DEFAULT = "country default"

# Rows an error message spells out before "and N more" (the full list is on the result's frame).
MAX_LISTED = 20


def summary_table(rows: list[tuple[str, str]]) -> str:
    """Label/value rows (already HTML-safe) as a two-column table, values right-aligned."""
    body = "".join(f"<tr><th style='text-align:left'>{label}</th><td style='text-align:right'>{value}</td></tr>"
                   for label, value in rows)
    return f"<table>{body}</table>"


def card(title: str, rows: list[tuple[str, str]], *, note: str = "", table: pd.DataFrame | None = None,
         table_title: str = "") -> str:
    """The one HTML summary card of a quote, an estimate or a plan: a bold title and a note,
    label/value rows, then an optional table (shown as it is: pass it through ``readable``)."""
    below = "" if table is None else f"<p>{table_title}</p>{table.to_html(index=False)}"
    return f"<div><b>{title}</b>{note}{summary_table(rows)}{below}</div>"


def warn(text: str) -> str:
    """Text an analyst must not miss (rows not priced), in red."""
    return f"<span style='color:#b00'>{text}</span>"


PERCENT = ("share",)


def money_columns(df: pd.DataFrame) -> list[str]:
    """The columns that hold money: at least one Decimal and nothing but Decimals or missing cells."""
    found = []
    for column in df.columns:
        values = [v for v in df[column] if not is_missing(v)]
        if values and all(isinstance(v, Decimal) for v in values):
            found.append(column)
    return found


def one_currency(df: pd.DataFrame, currency: str | None = None) -> str | None:
    """``currency``, else the single currency of a ``currency`` column (None for none or several)."""
    if currency:
        return currency
    if "currency" not in df.columns:
        return None
    found = {str(c) for c in df["currency"] if not is_missing(c)}
    return found.pop() if len(found) == 1 else None


def prepare(df: pd.DataFrame, currency: str | None = None,
            percent: Iterable[str] = PERCENT) -> tuple[pd.DataFrame, set[str]]:
    """``readable``'s frame and the names of its columns that hold numbers (to align right)."""
    money = money_columns(df)
    cur = one_currency(df, currency)
    out = df.copy()
    numeric = {c for c in df.columns if c in money or pd.api.types.is_numeric_dtype(df[c])}
    if "operator" in out.columns and "country" in out.columns and money:
        out["operator"] = [COUNTRY_DEFAULT if is_missing(o) and not is_missing(c) else o
                           for o, c in zip(out["operator"], out["country"])]
    for column in money:
        out[column] = [format_money(v) for v in df[column]]
    for column in set(percent) & set(out.columns):
        if pd.api.types.is_float_dtype(df[column]):
            out[column] = [f"{v:.1%}" for v in df[column]]
            numeric.add(column)
    if cur is not None and money:
        if "currency" in out.columns and {str(c) for c in df["currency"] if not is_missing(c)} <= {cur}:
            out = out.drop(columns="currency")  # said once, in the headers
        names = {c: f"{c} ({cur})" for c in money}
        out = out.rename(columns=names)
        numeric = {names.get(c, c) for c in numeric}
    return out, numeric


def readable(df: pd.DataFrame, currency: str | None = None, percent: Iterable[str] = PERCENT) -> pd.DataFrame:
    """A copy of ``df`` to show (see the module docstring); ``currency`` defaults to the one of
    its ``currency`` column.  Money cells become text: keep computing on ``df``."""
    return prepare(df, currency, percent)[0]
