"""What every chart shares: the template and colours, titles and axes, footnotes that name what
was not drawn, the "No data" figure, and Decimal sums made floats only to draw."""
from __future__ import annotations

import math
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any, Iterable, Sequence

import pandas as pd
import plotly.graph_objects as go

from ..core import spec
from ..core.money import format_money, is_missing, parse_money

TEMPLATE = "plotly_white"
BAR_COLOR = "#2563EB"
LINE_COLOR = "#111827"
BALANCE_COLOR = "#059669"
BUDGET_COLOR = "#DC2626"
OTHER_COLOR = "#6B7280"
LAND_COLOR = "#E5E7EB"
NO_FETCH_ANCHOR = "offline map anchor"  # name of the maps' first, invisible trace (see _choropleth)
WORLD_GEOJSON = "world_countries.geojson"  # package data: ISO-3-keyed outlines, see data/README.md
COLORSCALE = "Viridis"
STATUS_COLORS = {
    spec.DRAFT: "#9CA3AF",
    spec.PENDING: "#F59E0B",
    spec.PROCESSING: "#3B82F6",
    spec.SENT: "#10B981",
    spec.FAILED: "#EF4444",
}
ENCODINGS = ("GSM-7", "UCS-2")
ENCODING_COLORS = {"GSM-7": "#2563EB", "UCS-2": "#F97316"}
NO_DATA = "No data"
UNKNOWN = "(unknown)"
PERIOD_LABELS = {"D": "Day (UTC)", "W": "Week starting Monday (UTC)", "M": "Month (UTC)"}
_NOTE_LIMIT = 8  # names listed in a "not shown" note before "and N more"
TOP = 12  # categories a cost chart draws; the rest are one "Other" bar
NOTE = "footnote"  # annotation name of the footnotes (see add_note)
_NOTE_LINE_PX = 16
# Pixels between the plot area's bottom edge and the first footnote: under a cartesian plot
# the x axis's tick labels (dates take two lines) and its title come first.
_NOTE_GAP_PX = {"cartesian": 64, "other": 6}
_BAR_PX = 26  # height per horizontal bar, so that labels never overlap
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0}
# Tick steps of a value axis, times a power of ten: 445.6/426.9/408.1 become 410/420/430/440/450.
NICE_STEPS = (1, 2, 2.5, 5, 10)
TICKS_WANTED = 5  # about this many ticks on a value axis the chart sets itself
# The modebar's own buttons export every figure: PNG drawn in the browser by plotly.js (no
# server, no network), named after the figure; no plotly logo linking to plotly's site.
PNG_SCALE = 2  # a sharp picture for slides


def slug(text: str) -> str:
    """``"Spend over time (GBP)"`` -> ``"spend-over-time-gbp"``: a file name for an export."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "figure"


def figure_title(fig: go.Figure) -> str:
    return (fig.layout.title.text or "") if fig.layout.title else ""


def export_config(fig: go.Figure | str) -> dict[str, Any]:
    """plotly.js ``config`` for ``fig`` (or a figure's title): the modebar's camera button
    downloads a PNG named after the title; sized by its container."""
    title = fig if isinstance(fig, str) else figure_title(fig)
    return {"displaylogo": False, "responsive": True,
            "toImageButtonOptions": {"format": "png", "filename": slug(title), "scale": PNG_SCALE}}


def figure_html(fig: go.Figure) -> str:
    """``fig`` as one self-contained HTML page: plotly.js inline (no CDN, opens offline), the
    same modebar (PNG download) as in the notebook.

    >>> page = figure_html(empty_figure("Spend"))  # doctest: +SKIP
    """
    return fig.to_html(include_plotlyjs=True, full_html=True, include_mathjax=False, config=export_config(fig),
                       validate=False, default_width="100%", default_height="100%")


def nice_axis(low: float, high: float, wanted: int = TICKS_WANTED) -> dict[str, Any]:
    """Axis settings with evenly spaced round ticks that cover [low, high]: a step of 1, 2, 2.5
    or 5 times a power of ten, the range from the tick at or below ``low`` to the one at or above
    ``high`` (one step either side of a single value)."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"nice_axis: need finite low <= high, got {low!r}, {high!r}")
    span = high - low
    if span == 0:
        span = abs(low) / 50 or 1.0  # a flat line: a small window around it
    raw = span / max(wanted - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in NICE_STEPS if m * power >= raw * (1 - 1e-9))
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    if end - start < step * 1.5:  # a single value: one step either side
        start, end = start - step, end + step
    digits = max(0, -math.floor(math.log10(step)) + (1 if step / power == 2.5 else 0))
    start, end, step = round(start, digits), round(end, digits), round(step, digits)
    return {"tickmode": "linear", "tick0": start, "dtick": step, "range": [start, end]}



def base_layout(title: str, **more: Any) -> dict[str, Any]:
    """The layout every figure starts from: template, title, and sized by its container."""
    return {"template": TEMPLATE, "title": {"text": title}, "autosize": True, **more}


def empty_figure(title: str, message: str = NO_DATA) -> go.Figure:
    """A titled figure with no traces and a centred note (default "No data")."""
    fig = go.Figure(layout=base_layout(title))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 16})
    return fig


def axes_figure(title: str, x_title: str, y_title: str) -> go.Figure:
    return go.Figure(layout=base_layout(title, xaxis={"title": {"text": x_title}, "automargin": True},
                                    yaxis={"title": {"text": y_title}, "automargin": True}))


def is_empty(df: pd.DataFrame | None) -> bool:
    return df is None or len(df) == 0


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


def chart_currency(df: pd.DataFrame, currency: str | None, what: str) -> str:
    """The one currency of the amounts: the argument, else the ``currency`` column."""
    found = sorted({str(c) for c in df["currency"] if not is_missing(c)}) if "currency" in df.columns else []
    if currency:
        if found and found != [currency]:
            raise ValueError(f"{what}.currency: rows are in {', '.join(found)}, but currency={currency!r} was passed")
        return currency
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValueError(f"{what}: pass currency= or include a currency column (axis labels name the currency)")
    raise ValueError(f"{what}.currency: amounts in {', '.join(found)} cannot be added up; filter to one currency")


def _amount_column(df: pd.DataFrame, what: str) -> str:
    for col in ("total", "cost"):
        if col in df.columns:
            return col
    raise ValueError(f"{what}: missing column total (or cost)")


def label_of(value: Any) -> str:
    return UNKNOWN if is_missing(value) or not str(value).strip() else str(value).strip()


def priced_rows(df: pd.DataFrame, what: str) -> tuple[pd.DataFrame, str, int]:
    """The rows that have an amount, the amount column's name, and how many rows had none."""
    col = _amount_column(df, what)
    has = ~df[col].map(is_missing).astype(bool)
    return df[has], col, int((~has).sum())


def sum_by(df: pd.DataFrame, keys: Sequence[str], col: str, what: str) -> pd.DataFrame:
    """Exact Decimal totals per key (blank keys labelled "(unknown)"), largest first, ties by name."""
    totals: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for i, rec in enumerate(df[[*keys, col]].to_dict("records")):
        totals[tuple(label_of(rec[k]) for k in keys)] += parse_money(rec[col], f"{what} row {i}: {col}", floats=True)
    out = pd.DataFrame([(*k, v) for k, v in totals.items()], columns=[*keys, "amount"])
    out["value"] = out["amount"].map(float)
    out = out.sort_values(["value", *keys], ascending=[False, *([True] * len(keys))], kind="stable")
    return out.reset_index(drop=True)


def add_note(fig: go.Figure, text: str | None) -> go.Figure:
    """A footnote under the plot naming what could not be drawn.

    Placed in pixels below the plot area (below the x axis of a cartesian plot), one line per
    note, and the bottom margin grows to hold them all: a footnote is never cut off, whatever
    the figure's height.
    """
    if not text:
        return fig
    cartesian = not any(t.type in ("choropleth", "scattergeo", "treemap") for t in fig.data)
    gap = _NOTE_GAP_PX["cartesian" if cartesian else "other"]
    shift = gap + _NOTE_LINE_PX * sum(1 for a in fig.layout.annotations if a.name == NOTE)
    fig.add_annotation(text=text, name=NOTE, x=0, y=0, xref="paper", yref="paper", yshift=-shift,
                       showarrow=False, xanchor="left", yanchor="top", align="left",
                       font={"size": 11, "color": OTHER_COLOR})
    fig.update_layout(margin_b=shift + _NOTE_LINE_PX + 8)
    return fig


def skipped_note(skipped: int) -> str | None:
    return f"{skipped} row(s) without a cost not shown" if skipped else None


def no_priced_rows(title: str, skipped: int) -> go.Figure:
    return empty_figure(title, f"{NO_DATA} ({skipped} row(s) without a cost)")


def names_note(prefix: str, names: Sequence[str]) -> str | None:
    if not names:
        return None
    shown = ", ".join(names[:_NOTE_LIMIT])
    more = f" and {len(names) - _NOTE_LIMIT} more" if len(names) > _NOTE_LIMIT else ""
    return f"{prefix}: {shown}{more}"


def _top(labels: list[str], amounts: list[Decimal], top: int, kind: str) -> tuple[list[str], list[Decimal], int]:
    """The first ``top`` (labels, amounts) -- already largest first -- and the rest summed
    exactly into one "Other (N kinds)" entry; returns how many were folded into it.

    One leftover is drawn as itself: an "Other" bar standing for a single category hides it.
    """
    if top < 1:
        raise ValueError(f"top: must be at least 1, got {top!r}")
    if len(labels) <= top + 1:
        return labels, amounts, 0
    rest = len(labels) - top
    return [*labels[:top], f"Other ({rest} {kind})"], [*amounts[:top], sum(amounts[top:], Decimal(0))], rest


def money_bar(title: str, y_title: str, labels: list[str], amounts: list[Decimal], currency: str,
               skipped: int, kind: str, top: int) -> go.Figure:
    """Horizontal bars, largest at the top, the biggest ``top`` and an "Other" bar."""
    labels, amounts, folded = _top(labels, amounts, top, kind)
    fig = axes_figure(title, f"Cost ({currency})", y_title)
    colors = [BAR_COLOR] * (len(labels) - bool(folded)) + [OTHER_COLOR] * bool(folded)
    fig.add_bar(y=labels, x=[float(a) for a in amounts], orientation="h",
                customdata=[format_money(a) for a in amounts], marker_color=colors, name=f"Cost ({currency})",
                hovertemplate=f"%{{y}}<br>%{{customdata}} {currency}<extra></extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=labels, autorange="reversed")
    fig.update_layout(height=max(260, 140 + _BAR_PX * len(labels)))
    return add_note(fig, skipped_note(skipped))


def is_default_mnc(value: Any) -> bool:
    return is_missing(value) or str(value).strip().lower() in ("", "null")


def cost_sums(df: pd.DataFrame | None, keys: Sequence[str], title: str, what: str,
              currency: str | None = None) -> tuple[pd.DataFrame, str, int] | go.Figure:
    """The first steps of every cost chart: the exact cost per ``keys`` of the priced rows
    (DataFrame[*keys, amount]), their currency and how many rows had no cost -- or, when there
    is nothing to draw, the figure that says so."""
    if is_empty(df):
        return empty_figure(title)
    require_columns(df, keys[-1:], what)  # the finest key must be there; a coarser one may be absent
    priced, col, skipped = priced_rows(df, what)
    if priced.empty:
        return no_priced_rows(title, skipped)
    return sum_by(priced, list(keys), col, what), chart_currency(priced, currency, what), skipped
