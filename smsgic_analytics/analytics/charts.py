"""Plotly charts of costs, rates, statuses, spend and segments: pure functions DataFrame -> Figure.

Every figure has a title, axes (or a colour bar) labelled with their unit and currency, the
same template and fixed colours, and a stable category order, so the same data always draws
the same picture.  Empty input gives an empty figure that says "No data".  Amounts are
summed as Decimal and converted to float only to draw; hover texts show them exactly, with
the API's 4 decimals (``money.format_money``).  Rows that cannot be drawn (no cost, no ISO-3
code, no date) are named in a footnote on the figure, never dropped silently.

Built for reading in a notebook column or an app: figures size to their container
(``autosize``, no fixed width; legends above the plot), a cost chart draws the biggest
``TOP`` categories as horizontal bars and the rest as one "Other" bar, a missing operator is
the "country default", colour scales span the data (never below 0; one colour for one
value), and footnotes sit inside the bottom margin, which grows to hold them.

>>> import pandas as pd
>>> fig = cost_by_country(pd.DataFrame({"country": ["Latvia", "Denmark"], "total": [0.44, 0.9]}), "GBP")
>>> list(fig.data[0].y), fig.layout.xaxis.title.text
(['Denmark', 'Latvia'], 'Cost (GBP)')
"""
from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal
from itertools import accumulate
from typing import Any, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..core import spec
from ..core.display import COUNTRY_DEFAULT
from ..core.money import format_money, is_missing, parse_money, to_float
from .figures import (
    BALANCE_COLOR,
    BAR_COLOR,
    BUDGET_COLOR,
    ENCODING_COLORS,
    ENCODINGS,
    LEGEND_ABOVE,
    LINE_COLOR,
    NO_DATA,
    OTHER_COLOR,
    PERIOD_LABELS,
    STATUS_COLORS,
    TOP,
    UNKNOWN,
    add_note,
    axes_figure,
    base_layout,
    chart_currency,
    cost_sums,
    empty_figure,
    figure_html,
    is_default_mnc,
    is_empty,
    label_of,
    money_bar,
    nice_axis,
    no_priced_rows,
    priced_rows,
    require_columns,
    skipped_note,
    sum_by,
)
from .maps import quoted_cost_map, rates_map, world_geojson
from .spend import FREQS, check_freq, period_start

# --------------------------------------------------------------------------- costs

__all__ = ["copy_costs", "cost_by_country", "cost_by_operator", "cost_treemap", "empty_figure", "figure_html", "forecast_chart", "quoted_cost_map", "rate_histogram", "rate_history_chart", "rates_map", "segment_distribution", "spend_over_time", "status_over_time", "world_geojson"]


def cost_by_country(df: pd.DataFrame | None, currency: str | None = None, top: int = TOP) -> go.Figure:
    """Bars of cost per country, largest first, from DataFrame[country, total (or cost)]:
    the ``top`` biggest, then one "Other (N countries)" bar with the rest's exact sum.

    Totals may be Decimal or float; rows of the same country are added up exactly.
    """
    title = "Cost by country"
    summed = cost_sums(df, ["country"], title, "cost_by_country", currency)
    if isinstance(summed, go.Figure):
        return summed
    totals, cur, skipped = summed
    return money_bar(title, "Country", totals["country"].tolist(), totals["amount"].tolist(), cur, skipped,
                      "countries", top)


def cost_by_operator(df: pd.DataFrame | None, currency: str | None = None, top: int = TOP) -> go.Figure:
    """Bars of cost per operator, largest first (the ``top`` biggest, then "Other"), labelled
    "Operator (Country)" when the country is known (operators of the same name in two countries
    are different networks); a missing operator is the country default rate."""
    title = "Cost by operator"
    keys = ["country", "operator"] if df is not None and "country" in df.columns else ["operator"]
    summed = cost_sums(df, keys, title, "cost_by_operator", currency)
    if isinstance(summed, go.Figure):
        return summed
    totals, cur, skipped = summed
    countries = totals["country"] if "country" in keys else [UNKNOWN] * len(totals)
    labels = [_operator_label(o, c) for o, c in zip(totals["operator"], countries)]
    return money_bar(title, "Operator (country)", labels, totals["amount"].tolist(), cur, skipped,
                      "operators", top)


def copy_costs(df: pd.DataFrame | None, currency: str | None = None) -> go.Figure:
    """Grouped bars of each message variant's cost on its audience, as written and rewritten
    with smart encoding, from ``compare_copies``'s frame (variant, cost, rewrite_cost, encoding;
    currency from ``attrs`` when not given).  Variants keep their order; labels are "V1: text…"."""
    title = "Cost per message variant"
    if is_empty(df):
        return empty_figure(title)
    require_columns(df, ["variant", "cost"], "copy_costs")
    cur = currency or df.attrs.get("currency") or chart_currency(df, None, "copy_costs")
    labels = [f"V{i}: " + (str(v) if len(str(v)) <= 24 else str(v)[:23] + "…") for i, v in enumerate(df["variant"], 1)]
    fig = axes_figure(title, "Variant", f"Cost ({cur})")
    series = [("As written", "cost", BAR_COLOR)]
    if "rewrite_cost" in df.columns:
        series.append(("Smart-encoded", "rewrite_cost", BALANCE_COLOR))
    encodings = df["encoding"].astype(str).tolist() if "encoding" in df.columns else [""] * len(df)
    for name, column, color in series:
        amounts = [parse_money(a, f"copy_costs: {column}") for a in df[column]]
        fig.add_bar(x=labels, y=[to_float(a) for a in amounts], name=name, marker_color=color,
                    customdata=[[format_money(a), e] for a, e in zip(amounts, encodings)],
                    hovertemplate=f"%{{x}}<br>{name}: %{{customdata[0]}} {cur}<br>%{{customdata[1]}}<extra></extra>")
    fig.update_layout(barmode="group", legend=LEGEND_ABOVE)
    fig.update_xaxes(categoryorder="array", categoryarray=labels)
    return fig


def _operator_label(operator: str, country: str) -> str:
    if country == UNKNOWN:
        return operator
    # The API names no operator when it priced a number at its country's default rate.
    return f"{COUNTRY_DEFAULT if operator == UNKNOWN else operator} ({country})"


def cost_treemap(df: pd.DataFrame | None, currency: str | None = None) -> go.Figure:
    """Treemap of cost, country -> operator, from DataFrame[country, operator, total (or cost)]."""
    title = "Cost by country and operator"
    if is_empty(df):
        return empty_figure(title)
    require_columns(df, ["country", "operator"], "cost_treemap")
    priced, col, skipped = priced_rows(df, "cost_treemap")
    if priced.empty:
        return no_priced_rows(title, skipped)
    cur = chart_currency(priced, currency, "cost_treemap")
    leaves = sum_by(priced, ["country", "operator"], col, "cost_treemap")
    countries = sum_by(leaves, ["country"], "amount", "cost_treemap")
    nodes = []  # (id, label, parent, value, exact amount)
    for country, amount in zip(countries["country"], countries["amount"]):
        # "remainder" mode with a zero own value: a country's area is exactly its operators'.
        nodes.append((country, country, "", 0.0, format_money(amount)))
        for leaf in leaves[leaves["country"] == country].itertuples():
            operator = COUNTRY_DEFAULT if leaf.operator == UNKNOWN else leaf.operator
            nodes.append((f"{country}/{operator}", operator, country, leaf.value, format_money(leaf.amount)))
    ids, labels, parents, values, exact = (list(column) for column in zip(*nodes))
    fig = go.Figure(layout=base_layout(f"{title} ({cur})", margin={"l": 10, "r": 10, "t": 50, "b": 10}))
    fig.add_trace(go.Treemap(ids=ids, labels=labels, parents=parents, values=values, customdata=exact,
                             branchvalues="remainder", sort=False, name=f"Cost ({cur})",
                             texttemplate=f"%{{label}}<br>%{{customdata}} {cur}",
                             hovertemplate=f"%{{label}}<br>%{{customdata}} {cur}<extra></extra>"))
    return add_note(fig, skipped_note(skipped))


# --------------------------------------------------------------------------- rates


RATE_KIND_COLORS = {COUNTRY_DEFAULT: BAR_COLOR, "operator": "#F97316"}


def rate_histogram(rates_df: pd.DataFrame | None, currency: str | None = None, bins: int = 30) -> go.Figure:
    """How rates are distributed: one histogram for the country default rows (``mnc`` null)
    and one for the operator rows, overlaid, on the same ``bins`` bins.

    From DataFrame[mnc (or is_default), rate, currency] as ``client.rates()`` returns; rates
    may be Decimal (as the client gives them) or float.
    """
    title = "Distribution of rates"
    if is_empty(rates_df):
        return empty_figure(title)
    require_columns(rates_df, ["rate"], "rate_histogram")
    if bins < 1:
        raise ValueError(f"bins: must be at least 1, got {bins!r}")
    rated = rates_df[~rates_df["rate"].map(is_missing).astype(bool)]
    if rated.empty:
        return empty_figure(title, f"{NO_DATA} ({len(rates_df)} row(s) without a rate)")
    cur = chart_currency(rated, currency, "rate_histogram")
    if "is_default" in rated.columns:
        default = rated["is_default"].astype(bool).tolist()
    elif "mnc" in rated.columns:
        default = [is_default_mnc(m) for m in rated["mnc"]]
    else:
        raise ValueError("rate_histogram: missing column mnc (or is_default): which rows are country defaults?")
    rates = [parse_money(r, f"rate_histogram row {i}: rate", floats=True) for i, r in enumerate(rated["rate"])]
    low, high = min(rates), max(rates)
    # Shared bins: the two kinds are compared bar for bar.  Edges are exact decimals, floats to draw.
    size = (high - low) / bins if high > low else Decimal(1)
    fig = axes_figure(title, f"Rate per SMS part ({cur})", "Rates (count)")
    fig.update_layout(barmode="overlay", legend_title_text="Row", legend=LEGEND_ABOVE, showlegend=True)
    for kind in (COUNTRY_DEFAULT, "operator"):
        xs = [float(r) for r, d in zip(rates, default) if d == (kind == COUNTRY_DEFAULT)]
        if xs:
            fig.add_trace(go.Histogram(x=xs, name=kind, opacity=0.65, marker_color=RATE_KIND_COLORS[kind],
                                       xbins={"start": float(low), "end": float(high + size), "size": float(size)},
                                       hovertemplate=f"%{{x}} {cur}<br>%{{y}} rate(s)<extra>{kind}</extra>"))
    return fig


# --------------------------------------------------------------------------- time series


_DAY_MS = 86_400_000
_BAR_FILL_PCT = 90  # share of its period a bar covers, centred in it: a gap between neighbours
_PERIOD0 = "2024-01-01"  # a Monday, 1st of a month: where plotly starts counting periods


def _period_ms(start: pd.Timestamp, freq: str) -> int:
    """Length of the period starting at ``start`` in milliseconds (months vary)."""
    if freq == "D":
        return _DAY_MS
    if freq == "W":
        return 7 * _DAY_MS
    return start.days_in_month * _DAY_MS


def _period_bars(periods: Sequence[pd.Timestamp], freq: str) -> dict[str, list[int]]:
    """Bar ``offset``/``width`` (ms on a date axis) that put each bar inside its own period.

    Plotly centres a bar on its x (the period start), so a day's bar would straddle two days.
    """
    lengths = [_period_ms(p, freq) for p in periods]
    return {"offset": [n * (100 - _BAR_FILL_PCT) // 200 for n in lengths],
            "width": [n * _BAR_FILL_PCT // 100 for n in lengths]}


_MAX_DATE_TICKS = 8  # labels under a time axis at most: "04 Mar" fits about 8 times in a 570 px panel
_TICK_PERIODS = {"D": (1, 2, 7, 14, 28, 56, 91, 182, 364), "W": (1, 2, 4, 8, 13, 26, 52), "M": (1, 2, 3, 6, 12, 24)}
_TICK_FORMAT = {"D": "%d %b", "W": "%d %b", "M": "%b %Y"}


def period_axis(times: Sequence[pd.Timestamp], freq: str) -> dict[str, Any]:
    """x-axis settings for a chart of periods: one tick label per period (or per 2, 7, ...
    periods when there are many), written under the middle of its period -- a daily bar gets a
    day's label, never 6-hourly ones -- and the range from the first period's start to the last
    one's end.  ``times`` may be any instants; each counts as the period it falls in."""
    starts = sorted(set(period_start(pd.Series(list(times)), freq).dropna()))
    if not starts:
        return {}
    first, last = starts[0], starts[-1]
    end = last + (pd.DateOffset(months=1) if freq == "M" else pd.Timedelta(milliseconds=_period_ms(last, freq)))
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    count = months if freq == "M" else round((end - first) / pd.Timedelta(milliseconds=_period_ms(first, freq)))
    every = next((k for k in _TICK_PERIODS[freq] if math.ceil(count / k) <= _MAX_DATE_TICKS), _TICK_PERIODS[freq][-1])
    dtick: int | str = f"M{every}" if freq == "M" else every * _period_ms(first, freq)
    return {"type": "date", "tickmode": "linear", "tick0": first.strftime("%Y-%m-%d"), "dtick": dtick,
            "ticklabelmode": "period", "tickformat": _TICK_FORMAT[freq],
            "range": [first.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d")]}


def _period_points(freq: str) -> dict[str, Any]:
    """Scatter attributes that draw a point given at a period's start in the middle of the period,
    over its bar; the data (and hover) keep the period start."""
    period: int | str = "M1" if freq == "M" else _period_ms(pd.Timestamp(_PERIOD0), freq)
    return {"xperiod": period, "xperiod0": _PERIOD0, "xperiodalignment": "middle"}


def status_over_time(sendings_df: pd.DataFrame | None, freq: str = "D") -> go.Figure:
    """Stacked bars: sendings per period by status, in the API's status order.

    From DataFrame[created_at, status] as ``client.sendings()`` returns.
    """
    check_freq(freq)
    title = "Sendings by status"
    if is_empty(sendings_df):
        return empty_figure(title)
    require_columns(sendings_df, ["created_at", "status"], "status_over_time")
    df = pd.DataFrame({"period": period_start(sendings_df["created_at"], freq),
                       "status": sendings_df["status"].map(label_of).astype(object)})
    undated = int(df["period"].isna().sum())
    df = df.dropna(subset=["period"])
    if df.empty:
        return empty_figure(title, f"{NO_DATA} ({undated} sending(s) without created_at)")
    fig = axes_figure(title, PERIOD_LABELS[freq], "Sendings (count)")
    # A legend even for one status: the colour alone does not say which status it is.
    fig.update_layout(barmode="stack", legend_title_text="Status", legend=LEGEND_ABOVE, showlegend=True)
    counts = df.groupby(["period", "status"]).size().unstack(fill_value=0).sort_index()
    present = set(counts.columns)
    order = [s for s in spec.STATUSES if s in present] + sorted(present - set(spec.STATUSES))
    periods = counts.index.tolist()
    for status in order:
        fig.add_bar(x=periods, y=counts[status].astype(int).tolist(), name=status,
                    marker_color=STATUS_COLORS.get(status, OTHER_COLOR), **_period_bars(periods, freq))
    fig.update_xaxes(**period_axis(periods, freq))
    return add_note(fig, f"{undated} sending(s) without created_at not shown" if undated else None)


def spend_over_time(spend_df: pd.DataFrame | None, balance_df: pd.DataFrame | None = None,
                    currency: str | None = None, freq: str = "D", budget: Any = None) -> go.Figure:
    """Spend per period (bars), cumulative spend (line) and, when given, the balance (line,
    right-hand axis, round ticks) and a budget (dashed line at the budget, on the spend axis:
    where the cumulative spend crosses it, the budget is spent).

    From a ``Ledger.spend`` table (created_at or period, cost) and a
    ``Ledger.balance_history`` table (taken_at, amount).  Sums are exact Decimals; ``budget``
    is an amount in the same currency (Decimal, or text/float read by ``parse_money``).
    """
    check_freq(freq)
    title = "Spend over time"
    priced, col, skipped = (spend_df, "cost", 0) if is_empty(spend_df) else priced_rows(spend_df, "spend_over_time")
    has_spend, has_balance = not is_empty(priced), not is_empty(balance_df)
    if not has_spend and not has_balance:
        return no_priced_rows(title, skipped) if skipped else empty_figure(title)
    limit = None if is_missing(budget) else parse_money(budget, "spend_over_time budget", floats=True)
    cur = currency
    if has_spend:
        cur = chart_currency(priced, cur, "spend_over_time spend_df")
    if has_balance:
        cur = chart_currency(balance_df, cur, "spend_over_time balance_df")
    fig = make_subplots(specs=[[{"secondary_y": True}]]) if has_balance else go.Figure()
    fig.update_layout(**base_layout(title), legend=LEGEND_ABOVE, showlegend=True)
    fig.update_xaxes(title_text=PERIOD_LABELS[freq], automargin=True)
    fig.update_yaxes(title_text=f"Spend ({cur})", automargin=True, secondary_y=False if has_balance else None)
    secondary = {"secondary_y": False} if has_balance else {}
    instants: list[pd.Timestamp] = []
    if has_spend:
        periods, amounts = _spend_per_period(priced, col, freq)
        instants += periods
        cumulative = list(accumulate(amounts))
        fig.add_trace(go.Bar(x=periods, y=[float(a) for a in amounts], name=f"Spend per {FREQS[freq]}",
                             customdata=[format_money(a) for a in amounts], marker_color=BAR_COLOR,
                             **_period_bars(periods, freq), hovertemplate=f"%{{x}}<br>%{{customdata}} {cur}<extra></extra>"), **secondary)
        fig.add_trace(go.Scatter(x=periods, y=[float(c) for c in cumulative], name="Cumulative spend",
                                 mode="lines+markers", customdata=[format_money(c) for c in cumulative],
                                 line={"color": LINE_COLOR}, **_period_points(freq),
                                 hovertemplate=f"%{{x}}<br>%{{customdata}} {cur}<extra></extra>"), **secondary)
    if has_balance:
        require_columns(balance_df, ["taken_at"], "spend_over_time balance_df")
        balance = balance_df.sort_values("taken_at", kind="stable")
        values = balance["amount"].map(to_float)
        taken = pd.to_datetime(balance["taken_at"], utc=True).tolist()
        instants += taken
        fig.add_trace(go.Scatter(x=taken, y=values.tolist(),
                                 name="Balance", mode="lines+markers", line={"color": BALANCE_COLOR, "shape": "hv"},
                                 customdata=[format_money(a) for a in balance["amount"]],
                                 hovertemplate=f"%{{x}}<br>%{{customdata}} {cur}<extra></extra>"),
                      secondary_y=True)
        # Round, even ticks of its own (plotly would sync them to the spend axis: 445.6, 426.9, ...).
        fig.update_yaxes(title_text=f"Balance ({cur})", secondary_y=True, showgrid=False,
                         **nice_axis(float(values.min()), float(values.max())))
    if limit is not None:
        start, end = period_axis(instants, freq)["range"] if instants else (None, None)
        fig.add_trace(go.Scatter(x=[start, end], y=[float(limit)] * 2, name="Budget", mode="lines",
                                 line={"color": BUDGET_COLOR, "dash": "dash"},
                                 customdata=[format_money(limit)] * 2,
                                 hovertemplate=f"Budget %{{customdata}} {cur}<extra></extra>"), **secondary)
    fig.update_xaxes(**period_axis(instants, freq))
    return add_note(fig, skipped_note(skipped))


def _spend_per_period(priced: pd.DataFrame, col: str, freq: str) -> tuple[list[pd.Timestamp], list[Decimal]]:
    time_col = "created_at" if "created_at" in priced.columns else "period"
    require_columns(priced, [time_col], "spend_over_time spend_df")
    periods = period_start(priced[time_col], freq)
    if periods.isna().any():
        raise ValueError(f"spend_over_time spend_df: {int(periods.isna().sum())} priced row(s) have no {time_col}")
    totals: dict[pd.Timestamp, Decimal] = defaultdict(Decimal)
    for i, (period, amount) in enumerate(zip(periods, priced[col])):
        totals[period] += parse_money(amount, f"spend_over_time spend_df row {i}: {col}", floats=True)
    ordered = sorted(totals)
    return ordered, [totals[p] for p in ordered]


# --------------------------------------------------------------------------- segments


def segment_distribution(counts_df: pd.DataFrame | None) -> go.Figure:
    """Bars of how many messages need 1, 2, 3... SMS parts, one colour per encoding.

    From DataFrame[encoding, segments, units] as ``segment_counts`` returns.
    """
    title = "Segments per message"
    if is_empty(counts_df):
        return empty_figure(title)
    require_columns(counts_df, ["encoding", "segments"], "segment_distribution")
    df = pd.DataFrame({"encoding": counts_df["encoding"].map(label_of).astype(object),
                       "segments": pd.to_numeric(counts_df["segments"], errors="raise").astype(int)})
    counts = df.groupby(["segments", "encoding"]).size().unstack(fill_value=0).sort_index()
    present = set(counts.columns)
    order = [e for e in ENCODINGS if e in present] + sorted(present - set(ENCODINGS))
    xs = [int(s) for s in counts.index]
    fig = axes_figure(title, "Segments per message (SMS parts)", "Messages (count)")
    fig.update_layout(barmode="group", legend_title_text="Encoding", legend=LEGEND_ABOVE, showlegend=True)
    for encoding in order:
        fig.add_bar(x=xs, y=counts[encoding].astype(int).tolist(), name=encoding,
                    marker_color=ENCODING_COLORS.get(encoding, OTHER_COLOR))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=xs)
    return fig


# -- money foresight: price over time, the month's forecast ---------------------------------------

FORECAST_BAND_COLOR = "rgba(37, 99, 235, 0.15)"


def rate_history_chart(history_df: pd.DataFrame | None, countries: Sequence[str] | None = None,
                       currency: str | None = None, top: int = TOP) -> go.Figure:
    """Price over time, one step line per rate-card row (country default or operator), from
    ``sa.rate_history(...)`` [date, country, operator, mcc, mnc, price].  ``countries``: only
    these (e.g. ``quote.numbers["country"].unique()``, the countries of an audience).  The rows
    whose price moved most come first; past ``top`` rows a footnote names how many were left out.
    """
    title = "Price over time"
    if is_empty(history_df):
        return empty_figure(title)
    require_columns(history_df, ["date", "country", "mcc", "mnc", "price"], "rate_history_chart")
    df = history_df
    if countries is not None:
        wanted = {str(c).casefold() for c in countries}
        df = df[df["country"].astype(str).str.casefold().isin(wanted)]
        if is_empty(df):
            return empty_figure(title, f"{NO_DATA} for {', '.join(sorted(map(str, countries)))}")
    cur = chart_currency(df, currency, "rate_history_chart")
    df = df.sort_values("date", kind="stable")
    lines: dict[tuple[str, str, str], tuple[list[Any], list[Decimal]]] = {}
    for date, country, operator, mcc, mnc, price in zip(df["date"], df["country"].astype(str),
                                                        df["operator"] if "operator" in df else [None] * len(df),
                                                        df["mcc"], df["mnc"], df["price"]):
        default = is_default_mnc(mnc)
        label = f"{country} ({COUNTRY_DEFAULT})" if default else f"{country} {label_of(operator)} ({mcc}/{mnc})"
        xs, ys = lines.setdefault((country, "" if default else str(mnc), label), ([], []))
        xs.append(date)
        ys.append(parse_money(price, "rate_history_chart: price"))
    moved = sorted(lines, key=lambda k: (-(max(lines[k][1]) - min(lines[k][1])), k))
    fig = axes_figure(title, "Date (UTC)", f"Price per SMS ({cur})")
    fig.update_layout(legend=LEGEND_ABOVE)
    for key in moved[:top]:
        xs, ys = lines[key]
        fig.add_trace(go.Scatter(x=list(xs), y=[float(y) for y in ys], name=key[2], mode="lines+markers",
                                 line={"shape": "hv"}, customdata=[format_money(y) for y in ys],
                                 hovertemplate=f"{key[2]}<br>%{{x}}<br>%{{customdata}} {cur}<extra></extra>"))
    left = len(moved) - top
    return add_note(fig, f"{left} more rate-card row(s) not shown (those whose price moved least)" if left > 0 else None)


def forecast_chart(forecast: Any, budget: Decimal | None = None, currency: str | None = None) -> go.Figure:
    """The month's spend: actual cumulative spend (line), the projection from the run rate with
    its 90 % band, and the budget (a horizontal line), from ``sa.forecast(...)`` (a ``Forecast``
    or its ``.frame`` [date, actual, projected, low, high])."""
    title = "Spend forecast for the month"
    frame = getattr(forecast, "frame", forecast)
    if budget is None:
        budget = getattr(forecast, "budget", None)
    cur = currency or getattr(forecast, "currency", None) or ""
    if is_empty(frame):
        return empty_figure(title)
    require_columns(frame, ["date", "actual", "projected", "low", "high"], "forecast_chart")
    unit = f" ({cur})" if cur else ""
    fig = axes_figure(title, "Day (UTC)", f"Spend this month{unit}")
    fig.update_layout(legend=LEGEND_ABOVE)
    actual = frame[frame["actual"].notna()]
    ahead = frame[frame["projected"].notna()]
    dates = ahead["date"].tolist()
    fig.add_trace(go.Scatter(x=dates + dates[::-1], y=[float(v) for v in ahead["high"]] + [float(v) for v in ahead["low"]][::-1],
                             fill="toself", fillcolor=FORECAST_BAND_COLOR, line={"width": 0}, name="90 % band",
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=dates, y=[float(v) for v in ahead["projected"]], name="Projected (run rate)",
                             mode="lines", line={"color": BAR_COLOR, "dash": "dash"},
                             customdata=[format_money(v) for v in ahead["projected"]],
                             hovertemplate=f"%{{x|%d %b}}<br>%{{customdata}} {cur}<extra></extra>"))
    fig.add_trace(go.Scatter(x=actual["date"].tolist(), y=[float(v) for v in actual["actual"]], name="Spent so far",
                             mode="lines+markers", line={"color": LINE_COLOR},
                             customdata=[format_money(v) for v in actual["actual"]],
                             hovertemplate=f"%{{x|%d %b}}<br>%{{customdata}} {cur}<extra></extra>"))
    if budget is not None:
        fig.add_trace(go.Scatter(x=[frame["date"].iloc[0], frame["date"].iloc[-1]], y=[float(budget)] * 2,
                                 name=f"Budget {format_money(budget)}", mode="lines",
                                 line={"color": BUDGET_COLOR, "width": 2}, hoverinfo="skip"))
    sentence = getattr(forecast, "sentence", None)
    return add_note(fig, sentence)
