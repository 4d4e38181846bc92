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

import copy
import functools
import json
from collections import defaultdict
from decimal import Decimal
from importlib import resources
from itertools import accumulate
from typing import Any, Iterable, Sequence

import mobile_codes
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..core import spec
from ..core.display import COUNTRY_DEFAULT
from ..core.money import format_money, is_missing, parse_money, to_float
from .spend import FREQS, period_start

TEMPLATE = "plotly_white"
BAR_COLOR = "#2563EB"
LINE_COLOR = "#111827"
BALANCE_COLOR = "#059669"
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
NOTE = "footnote"  # annotation name of the footnotes (see _note)
_NOTE_LINE_PX = 16
# Pixels between the plot area's bottom edge and the first footnote: under a cartesian plot
# the x axis's tick labels (dates take two lines) and its title come first.
_NOTE_GAP_PX = {"cartesian": 64, "other": 6}
_BAR_PX = 26  # height per horizontal bar, so that labels never overlap
_LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0}


# --------------------------------------------------------------------------- helpers


def _layout(title: str, **more: Any) -> dict[str, Any]:
    """The layout every figure starts from: template, title, and sized by its container."""
    return {"template": TEMPLATE, "title": {"text": title}, "autosize": True, **more}


def empty_figure(title: str, message: str = NO_DATA) -> go.Figure:
    """A titled figure with no traces and a centred note (default "No data")."""
    fig = go.Figure(layout=_layout(title))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 16})
    return fig


def _figure(title: str, x_title: str, y_title: str) -> go.Figure:
    return go.Figure(layout=_layout(title, xaxis={"title": {"text": x_title}, "automargin": True},
                                    yaxis={"title": {"text": y_title}, "automargin": True}))


def _is_empty(df: pd.DataFrame | None) -> bool:
    return df is None or len(df) == 0


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")


def _currency(df: pd.DataFrame, currency: str | None, what: str) -> str:
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


def _label(value: Any) -> str:
    return UNKNOWN if is_missing(value) or not str(value).strip() else str(value).strip()


def _priced(df: pd.DataFrame, what: str) -> tuple[pd.DataFrame, str, int]:
    """The rows that have an amount, the amount column's name, and how many rows had none."""
    col = _amount_column(df, what)
    has = ~df[col].map(is_missing).astype(bool)
    return df[has], col, int((~has).sum())


def _sum_by(df: pd.DataFrame, keys: Sequence[str], col: str, what: str) -> pd.DataFrame:
    """Exact Decimal totals per key (blank keys labelled "(unknown)"), largest first, ties by name."""
    totals: dict[tuple[str, ...], Decimal] = defaultdict(Decimal)
    for i, rec in enumerate(df[[*keys, col]].to_dict("records")):
        totals[tuple(_label(rec[k]) for k in keys)] += parse_money(rec[col], f"{what} row {i}: {col}", floats=True)
    out = pd.DataFrame([(*k, v) for k, v in totals.items()], columns=[*keys, "amount"])
    out["value"] = out["amount"].map(float)
    out = out.sort_values(["value", *keys], ascending=[False, *([True] * len(keys))], kind="stable")
    return out.reset_index(drop=True)


def _note(fig: go.Figure, text: str | None) -> go.Figure:
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


def _skipped_note(skipped: int) -> str | None:
    return f"{skipped} row(s) without a cost not shown" if skipped else None


def _no_priced_rows(title: str, skipped: int) -> go.Figure:
    return empty_figure(title, f"{NO_DATA} ({skipped} row(s) without a cost)")


def _names_note(prefix: str, names: Sequence[str]) -> str | None:
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


def _money_bar(title: str, y_title: str, labels: list[str], amounts: list[Decimal], currency: str,
               skipped: int, kind: str, top: int) -> go.Figure:
    """Horizontal bars, largest at the top, the biggest ``top`` and an "Other" bar."""
    labels, amounts, folded = _top(labels, amounts, top, kind)
    fig = _figure(title, f"Cost ({currency})", y_title)
    colors = [BAR_COLOR] * (len(labels) - bool(folded)) + [OTHER_COLOR] * bool(folded)
    fig.add_bar(y=labels, x=[float(a) for a in amounts], orientation="h",
                customdata=[format_money(a) for a in amounts], marker_color=colors, name=f"Cost ({currency})",
                hovertemplate=f"%{{y}}<br>%{{customdata}} {currency}<extra></extra>")
    fig.update_yaxes(categoryorder="array", categoryarray=labels, autorange="reversed")
    fig.update_layout(height=max(260, 140 + _BAR_PX * len(labels)))
    return _note(fig, _skipped_note(skipped))


# --------------------------------------------------------------------------- costs


def cost_by_country(df: pd.DataFrame | None, currency: str | None = None, top: int = TOP) -> go.Figure:
    """Bars of cost per country, largest first, from DataFrame[country, total (or cost)]:
    the ``top`` biggest, then one "Other (N countries)" bar with the rest's exact sum.

    Totals may be Decimal or float; rows of the same country are added up exactly.
    """
    title = "Cost by country"
    if _is_empty(df):
        return empty_figure(title)
    _require(df, ["country"], "cost_by_country")
    priced, col, skipped = _priced(df, "cost_by_country")
    if priced.empty:
        return _no_priced_rows(title, skipped)
    cur = _currency(priced, currency, "cost_by_country")
    totals = _sum_by(priced, ["country"], col, "cost_by_country")
    return _money_bar(title, "Country", totals["country"].tolist(), totals["amount"].tolist(), cur, skipped,
                      "countries", top)


def cost_by_operator(df: pd.DataFrame | None, currency: str | None = None, top: int = TOP) -> go.Figure:
    """Bars of cost per operator, largest first (the ``top`` biggest, then "Other"), labelled
    "Operator (Country)" when the country is known (operators of the same name in two countries
    are different networks); a missing operator is the country default rate."""
    title = "Cost by operator"
    if _is_empty(df):
        return empty_figure(title)
    _require(df, ["operator"], "cost_by_operator")
    priced, col, skipped = _priced(df, "cost_by_operator")
    if priced.empty:
        return _no_priced_rows(title, skipped)
    cur = _currency(priced, currency, "cost_by_operator")
    keys = ["country", "operator"] if "country" in df.columns else ["operator"]
    totals = _sum_by(priced, keys, col, "cost_by_operator")
    countries = totals["country"] if "country" in keys else [UNKNOWN] * len(totals)
    labels = [_operator_label(o, c) for o, c in zip(totals["operator"], countries)]
    return _money_bar(title, "Operator (country)", labels, totals["amount"].tolist(), cur, skipped,
                      "operators", top)


def _operator_label(operator: str, country: str) -> str:
    if country == UNKNOWN:
        return operator
    # The API names no operator when it priced a number at its country's default rate.
    return f"{COUNTRY_DEFAULT if operator == UNKNOWN else operator} ({country})"


def cost_treemap(df: pd.DataFrame | None, currency: str | None = None) -> go.Figure:
    """Treemap of cost, country -> operator, from DataFrame[country, operator, total (or cost)]."""
    title = "Cost by country and operator"
    if _is_empty(df):
        return empty_figure(title)
    _require(df, ["country", "operator"], "cost_treemap")
    priced, col, skipped = _priced(df, "cost_treemap")
    if priced.empty:
        return _no_priced_rows(title, skipped)
    cur = _currency(priced, currency, "cost_treemap")
    leaves = _sum_by(priced, ["country", "operator"], col, "cost_treemap")
    countries = _sum_by(leaves, ["country"], "amount", "cost_treemap")
    nodes = []  # (id, label, parent, value, exact amount)
    for country, amount in zip(countries["country"], countries["amount"]):
        # "remainder" mode with a zero own value: a country's area is exactly its operators'.
        nodes.append((country, country, "", 0.0, format_money(amount)))
        for leaf in leaves[leaves["country"] == country].itertuples():
            operator = COUNTRY_DEFAULT if leaf.operator == UNKNOWN else leaf.operator
            nodes.append((f"{country}/{operator}", operator, country, leaf.value, format_money(leaf.amount)))
    ids, labels, parents, values, exact = (list(column) for column in zip(*nodes))
    fig = go.Figure(layout=_layout(f"{title} ({cur})", margin={"l": 10, "r": 10, "t": 50, "b": 10}))
    fig.add_trace(go.Treemap(ids=ids, labels=labels, parents=parents, values=values, customdata=exact,
                             branchvalues="remainder", sort=False, name=f"Cost ({cur})",
                             texttemplate=f"%{{label}}<br>%{{customdata}} {cur}",
                             hovertemplate=f"%{{label}}<br>%{{customdata}} {cur}<extra></extra>"))
    return _note(fig, _skipped_note(skipped))


# --------------------------------------------------------------------------- maps


def _country_lookups() -> tuple[dict[str, str], dict[str, str], dict[str, set[str]]]:
    """ISO-2 -> ISO-3, country name -> ISO-3 and MCC -> {ISO-3}: the project's numbering
    table when it is installed, else (and for what it lacks) the mobile-codes table."""
    sources: list[list[tuple[Any, Any, Any, Any]]] = []
    try:
        from ..numbers.classify import country_table  # lazy: written by another module, may be absent
    except ImportError:
        pass
    else:
        table = country_table()
        sources.append(list(zip(table["region"], table["country"], table["iso3"], table["mcc"])))
    with open(mobile_codes.COUNTRY_JSON_PATH, encoding="utf-8") as fh:
        sources.append([(row[1], row[0], row[2], row[4]) for row in json.load(fh)])
    by_region: dict[str, str] = {}
    by_name: dict[str, str] = {}
    by_mcc: dict[str, set[str]] = {}
    for rows in sources:
        mcc_here: dict[str, set[str]] = defaultdict(set)
        for region, name, iso3, mccs in rows:
            if is_missing(iso3) or not str(iso3).strip():
                continue
            iso3 = str(iso3).strip().upper()
            if not is_missing(region):
                by_region.setdefault(str(region).strip().upper(), iso3)
            if not is_missing(name):
                by_name.setdefault(str(name).strip().casefold(), iso3)
            for mcc in _as_list(mccs):
                mcc_here[mcc].add(iso3)
        for mcc, codes in mcc_here.items():
            by_mcc.setdefault(mcc, codes)  # the first source wins a whole MCC, not a mix
    return by_region, by_name, by_mcc


def _as_list(mccs: Any) -> list[str]:
    """One MCC or a list of them (mobile-codes lists several for some countries)."""
    if isinstance(mccs, str):
        return [mccs] if mccs else []
    if isinstance(mccs, (list, tuple)):
        return [str(m) for m in mccs if m]
    return []


def _iso3_per_country(df: pd.DataFrame) -> dict[str, str | None]:
    """ISO-3 code per distinct country label: iso3 column, else region (ISO-2), else the
    name, else an MCC that belongs to exactly one country."""
    by_region, by_name, by_mcc = _country_lookups()
    found: dict[str, str | None] = {}
    for label, rows in df.groupby(df["country"].map(_label), sort=True):
        code = None
        if "iso3" in rows.columns:
            code = next((str(v).upper() for v in rows["iso3"] if not is_missing(v) and str(v).strip()), None)
        if code is None and "region" in rows.columns:
            code = next((by_region[str(v).upper()] for v in rows["region"]
                         if not is_missing(v) and str(v).upper() in by_region), None)
        if code is None:
            code = by_name.get(label.casefold())
        if code is None and "mcc" in rows.columns:
            candidates = set().union(*(by_mcc.get(str(m), set()) for m in rows["mcc"] if not is_missing(m)))
            code = next(iter(candidates)) if len(candidates) == 1 else None
        found[label] = code
    return found


@functools.cache
def _outlines() -> dict[str, dict[str, Any]]:
    """ISO-3 -> GeoJSON feature of the vendored world map, read once per process."""
    path = resources.files("smsgic_analytics").joinpath("data", WORLD_GEOJSON)
    return {feature["id"]: feature for feature in json.loads(path.read_text(encoding="utf-8"))["features"]}


def world_geojson(iso3: Iterable[str] | None = None) -> dict[str, Any]:
    """The vendored country outlines (Natural Earth via world-atlas) as a GeoJSON
    FeatureCollection whose feature ``id`` is the ISO 3166-1 alpha-3 code; only ``iso3``'s
    countries when given.  Maps embed these outlines so they draw without a network
    (plotly's ISO-3 mode fetches them from a CDN when the figure is viewed).

    >>> [f["id"] for f in world_geojson(["LVA", "DNK"])["features"]]
    ['DNK', 'LVA']
    """
    outlines = _outlines()
    codes = sorted(outlines) if iso3 is None else sorted(set(iso3) & set(outlines))
    # A fresh copy: a caller (or plotly) editing it must not change every later map.
    return {"type": "FeatureCollection", "features": [copy.deepcopy(outlines[c]) for c in codes]}


def _choropleth(title: str, per_country: pd.DataFrame, codes: dict[str, str | None], colorbar_title: str,
                hover_unit: str, combine: str) -> go.Figure:
    """per_country: [country, value, exact, detail], drawn by ISO-3 in ISO-3 order over a grey
    world, from the vendored outlines only: nothing is fetched when the figure is viewed."""
    per_country = per_country.assign(iso3=per_country["country"].map(codes))
    unmapped = sorted(per_country.loc[per_country["iso3"].isna(), "country"])
    mapped = per_country.dropna(subset=["iso3"])
    # Two labels for one country (e.g. two spellings) share one shape: combine them.
    joined = " / ".join
    mapped = mapped.groupby("iso3", sort=True).agg(
        {"value": combine, "country": joined, "exact": joined, "detail": joined}).reset_index()
    has_outline = mapped["iso3"].isin(_outlines().keys())
    no_outline = [f"{c} ({i})" for c, i in zip(mapped.loc[~has_outline, "country"], mapped.loc[~has_outline, "iso3"])]
    mapped = mapped[has_outline]
    fig = go.Figure(layout=_layout(title))
    # plotly.js (2.x to 4.1 at least) fetches its world topojson from cdn.plot.ly whenever the
    # *first* geo trace has a locationmode, which every choropleth has, even one with its own
    # geojson.  So the first trace is an invisible lon/lat point, which has none: with the base
    # layers off (geo.visible=False) the map then needs nothing but the outlines it carries.
    # tests/unit/test_charts.py renders a map in Chromium with the network blocked to prove it.
    fig.add_trace(go.Scattergeo(lon=[0], lat=[0], mode="markers", marker={"opacity": 0, "size": 1},
                                hoverinfo="skip", showlegend=False, name=NO_FETCH_ANCHOR))
    world = world_geojson()
    fig.add_trace(go.Choropleth(  # the backdrop: every country in grey, silent on hover
        geojson=world, featureidkey="id", locationmode="geojson-id",
        locations=[f["id"] for f in world["features"]], z=[0] * len(world["features"]),
        colorscale=[[0, LAND_COLOR], [1, LAND_COLOR]], showscale=False, hoverinfo="skip",
        marker_line_color="white", marker_line_width=0.5, name="World", showlegend=False))
    fig.add_trace(go.Choropleth(
        geojson=world_geojson(mapped["iso3"]), featureidkey="id", locationmode="geojson-id",
        locations=mapped["iso3"].tolist(), z=mapped["value"].tolist(),
        text=mapped["country"].tolist(), customdata=list(zip(mapped["exact"], mapped["detail"])),
        marker_line_color="white", marker_line_width=0.5, name=colorbar_title,
        hovertemplate=f"%{{text}}<br>%{{customdata[0]}} {hover_unit}<br>%{{customdata[1]}}<extra></extra>",
        **_color_scale(mapped["value"].tolist(), colorbar_title),
    ))
    # geo.visible=False: no base layers, so plotly.js never fetches its topojson from the CDN.
    fig.update_geos(visible=False, projection_type="natural earth", lataxis_range=[-58, 84])
    fig.update_layout(margin={"l": 0, "r": 0, "t": 50, "b": 10})
    _note(fig, _names_note("Not on the map (no ISO-3 code)", unmapped))
    return _note(fig, _names_note("Not on the map (no outline at this scale)", no_outline))


def _color_scale(values: list[float], title: str) -> dict[str, Any]:
    """Colour scale attributes spanning the data: from its lowest value (never below 0) to its
    highest.  One distinct value is one colour, with one tick at that value: plotly's own
    range for a single value (value +- 0.5) would show negative rates and a scale of nothing."""
    colorbar: dict[str, Any] = {"title": {"text": title}}
    if not values:
        return {"colorscale": COLORSCALE, "colorbar": colorbar}
    low, high = max(0.0, min(values)), max(0.0, max(values))
    if low < high:
        return {"colorscale": COLORSCALE, "zmin": low, "zmax": high, "colorbar": colorbar}
    flat = "#21918C"  # Viridis' middle: the colour of "the one value there is"
    return {"colorscale": [[0, flat], [1, flat]], "zmin": 0.0, "zmax": high or 1.0,
            "colorbar": {**colorbar, "tickvals": [high], "ticktext": [format_money(parse_money(high, title, floats=True))]}}


def _is_default_mnc(value: Any) -> bool:
    return is_missing(value) or str(value).strip().lower() in ("", "null")


def rates_map(rates_df: pd.DataFrame | None, currency: str | None = None) -> go.Figure:
    """World map of each country's default rate (the ``mnc`` null row) per SMS.

    From DataFrame[mcc, mnc, country, rate, currency] as ``client.rates()`` returns.  A
    country with operator rows but no default row is coloured by its highest operator rate
    and says so on hover.  ISO-3 codes come from an ``iso3`` or ``region`` column when
    present, else from the numbering table (by name, then by MCC).
    """
    title = "Default SMS rate by country"
    if _is_empty(rates_df):
        return empty_figure(title)
    _require(rates_df, ["country", "rate"], "rates_map")
    rated = rates_df[~rates_df["rate"].map(is_missing).astype(bool)]
    if rated.empty:
        return empty_figure(title, f"{NO_DATA} ({len(rates_df)} row(s) without a rate)")
    cur = _currency(rated, currency, "rates_map")
    rows = []
    for label, group in rated.groupby(rated["country"].map(_label), sort=True):
        rates = [parse_money(r, f"rates_map {label}: rate", floats=True) for r in group["rate"]]
        if "mnc" in group.columns:
            default = [r for r, mnc in zip(rates, group["mnc"]) if _is_default_mnc(mnc)]
        else:
            default = rates
        if default:
            rate, basis = max(default), "country default"
        else:
            rate, basis = max(rates), "no default rate: highest operator rate"
        rows.append({"country": label, "value": float(rate), "exact": format_money(rate),
                     "detail": f"{basis}; operator rates {format_money(min(rates))} to {format_money(max(rates))}"})
    return _choropleth(title, pd.DataFrame(rows), _iso3_per_country(rated), f"Rate ({cur} per SMS)",
                       f"{cur} per SMS", "max")


def quoted_cost_map(df: pd.DataFrame | None, currency: str | None = None) -> go.Figure:
    """World map of quoted cost per country, from DataFrame[country, total (or cost)]
    (a quote's destinations or a spend table)."""
    title = "Quoted cost by country"
    if _is_empty(df):
        return empty_figure(title)
    _require(df, ["country"], "quoted_cost_map")
    priced, col, skipped = _priced(df, "quoted_cost_map")
    if priced.empty:
        return _no_priced_rows(title, skipped)
    cur = _currency(priced, currency, "quoted_cost_map")
    totals = _sum_by(priced, ["country"], col, "quoted_cost_map")
    per_country = totals.assign(exact=totals["amount"].map(format_money), detail="quoted cost")
    fig = _choropleth(title, per_country, _iso3_per_country(priced), f"Quoted cost ({cur})", cur, "sum")
    return _note(fig, _skipped_note(skipped))


# --------------------------------------------------------------------------- rates


RATE_KIND_COLORS = {COUNTRY_DEFAULT: BAR_COLOR, "operator": "#F97316"}


def rate_histogram(rates_df: pd.DataFrame | None, currency: str | None = None, bins: int = 30) -> go.Figure:
    """How rates are distributed: one histogram for the country default rows (``mnc`` null)
    and one for the operator rows, overlaid, on the same ``bins`` bins.

    From DataFrame[mnc (or is_default), rate, currency] as ``client.rates()`` returns; rates
    may be Decimal (as the client gives them) or float.
    """
    title = "Distribution of rates"
    if _is_empty(rates_df):
        return empty_figure(title)
    _require(rates_df, ["rate"], "rate_histogram")
    if bins < 1:
        raise ValueError(f"bins: must be at least 1, got {bins!r}")
    rated = rates_df[~rates_df["rate"].map(is_missing).astype(bool)]
    if rated.empty:
        return empty_figure(title, f"{NO_DATA} ({len(rates_df)} row(s) without a rate)")
    cur = _currency(rated, currency, "rate_histogram")
    if "is_default" in rated.columns:
        default = rated["is_default"].astype(bool).tolist()
    elif "mnc" in rated.columns:
        default = [_is_default_mnc(m) for m in rated["mnc"]]
    else:
        raise ValueError("rate_histogram: missing column mnc (or is_default): which rows are country defaults?")
    rates = [parse_money(r, f"rate_histogram row {i}: rate", floats=True) for i, r in enumerate(rated["rate"])]
    low, high = min(rates), max(rates)
    # Shared bins: the two kinds are compared bar for bar.  Edges are exact decimals, floats to draw.
    size = (high - low) / bins if high > low else Decimal(1)
    fig = _figure(title, f"Rate per SMS part ({cur})", "Rates (count)")
    fig.update_layout(barmode="overlay", legend_title_text="Row", legend=_LEGEND_ABOVE)
    for kind in (COUNTRY_DEFAULT, "operator"):
        xs = [float(r) for r, d in zip(rates, default) if d == (kind == COUNTRY_DEFAULT)]
        if xs:
            fig.add_trace(go.Histogram(x=xs, name=kind, opacity=0.65, marker_color=RATE_KIND_COLORS[kind],
                                       xbins={"start": float(low), "end": float(high + size), "size": float(size)},
                                       hovertemplate=f"%{{x}} {cur}<br>%{{y}} rate(s)<extra>{kind}</extra>"))
    return fig


# --------------------------------------------------------------------------- time series


def _check_freq(freq: str) -> None:
    if freq not in FREQS:
        raise ValueError(f"freq: must be one of {', '.join(FREQS)} (day, week, month), got {freq!r}")


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


def _period_points(freq: str) -> dict[str, Any]:
    """Scatter attributes that draw a point given at a period's start in the middle of the period,
    over its bar; the data (and hover) keep the period start."""
    period: int | str = "M1" if freq == "M" else _period_ms(pd.Timestamp(_PERIOD0), freq)
    return {"xperiod": period, "xperiod0": _PERIOD0, "xperiodalignment": "middle"}


def status_over_time(sendings_df: pd.DataFrame | None, freq: str = "D") -> go.Figure:
    """Stacked bars: sendings per period by status, in the API's status order.

    From DataFrame[created_at, status] as ``client.sendings()`` returns.
    """
    _check_freq(freq)
    title = "Sendings by status"
    if _is_empty(sendings_df):
        return empty_figure(title)
    _require(sendings_df, ["created_at", "status"], "status_over_time")
    df = pd.DataFrame({"period": period_start(sendings_df["created_at"], freq),
                       "status": sendings_df["status"].map(_label).astype(object)})
    undated = int(df["period"].isna().sum())
    df = df.dropna(subset=["period"])
    if df.empty:
        return empty_figure(title, f"{NO_DATA} ({undated} sending(s) without created_at)")
    fig = _figure(title, PERIOD_LABELS[freq], "Sendings (count)")
    fig.update_layout(barmode="stack", legend_title_text="Status", legend=_LEGEND_ABOVE)
    counts = df.groupby(["period", "status"]).size().unstack(fill_value=0).sort_index()
    present = set(counts.columns)
    order = [s for s in spec.STATUSES if s in present] + sorted(present - set(spec.STATUSES))
    periods = counts.index.tolist()
    for status in order:
        fig.add_bar(x=periods, y=counts[status].astype(int).tolist(), name=status,
                    marker_color=STATUS_COLORS.get(status, OTHER_COLOR), **_period_bars(periods, freq))
    return _note(fig, f"{undated} sending(s) without created_at not shown" if undated else None)


def spend_over_time(spend_df: pd.DataFrame | None, balance_df: pd.DataFrame | None = None,
                    currency: str | None = None, freq: str = "D") -> go.Figure:
    """Spend per period (bars), cumulative spend (line) and, when given, the balance (line,
    right-hand axis).

    From a ``Ledger.spend`` table (created_at or period, cost) and a
    ``Ledger.balance_history`` table (taken_at, amount).  Sums are exact Decimals.
    """
    _check_freq(freq)
    title = "Spend over time"
    priced, col, skipped = (spend_df, "cost", 0) if _is_empty(spend_df) else _priced(spend_df, "spend_over_time")
    has_spend, has_balance = not _is_empty(priced), not _is_empty(balance_df)
    if not has_spend and not has_balance:
        return _no_priced_rows(title, skipped) if skipped else empty_figure(title)
    cur = currency
    if has_spend:
        cur = _currency(priced, cur, "spend_over_time spend_df")
    if has_balance:
        cur = _currency(balance_df, cur, "spend_over_time balance_df")
    fig = make_subplots(specs=[[{"secondary_y": True}]]) if has_balance else go.Figure()
    fig.update_layout(**_layout(title), legend=_LEGEND_ABOVE)
    fig.update_xaxes(title_text=PERIOD_LABELS[freq], automargin=True)
    fig.update_yaxes(title_text=f"Spend ({cur})", automargin=True, secondary_y=False if has_balance else None)
    secondary = {"secondary_y": False} if has_balance else {}
    if has_spend:
        periods, amounts = _spend_per_period(priced, col, freq)
        cumulative = list(accumulate(amounts))
        fig.add_trace(go.Bar(x=periods, y=[float(a) for a in amounts], name=f"Spend per {FREQS[freq]}",
                             customdata=[format_money(a) for a in amounts], marker_color=BAR_COLOR,
                             **_period_bars(periods, freq), hovertemplate=f"%{{x}}<br>%{{customdata}} {cur}<extra></extra>"), **secondary)
        fig.add_trace(go.Scatter(x=periods, y=[float(c) for c in cumulative], name="Cumulative spend",
                                 mode="lines+markers", customdata=[format_money(c) for c in cumulative],
                                 line={"color": LINE_COLOR}, **_period_points(freq),
                                 hovertemplate=f"%{{x}}<br>%{{customdata}} {cur}<extra></extra>"), **secondary)
    if has_balance:
        _require(balance_df, ["taken_at"], "spend_over_time balance_df")
        balance = balance_df.sort_values("taken_at", kind="stable")
        values = balance["amount"].map(to_float)
        fig.add_trace(go.Scatter(x=pd.to_datetime(balance["taken_at"], utc=True).tolist(), y=values.tolist(),
                                 name="Balance", mode="lines+markers", line={"color": BALANCE_COLOR, "shape": "hv"},
                                 customdata=[format_money(a) for a in balance["amount"]],
                                 hovertemplate=f"%{{x}}<br>%{{customdata}} {cur}<extra></extra>"),
                      secondary_y=True)
        fig.update_yaxes(title_text=f"Balance ({cur})", secondary_y=True, showgrid=False)
    return _note(fig, _skipped_note(skipped))


def _spend_per_period(priced: pd.DataFrame, col: str, freq: str) -> tuple[list[pd.Timestamp], list[Decimal]]:
    time_col = "created_at" if "created_at" in priced.columns else "period"
    _require(priced, [time_col], "spend_over_time spend_df")
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
    if _is_empty(counts_df):
        return empty_figure(title)
    _require(counts_df, ["encoding", "segments"], "segment_distribution")
    df = pd.DataFrame({"encoding": counts_df["encoding"].map(_label).astype(object),
                       "segments": pd.to_numeric(counts_df["segments"], errors="raise").astype(int)})
    counts = df.groupby(["segments", "encoding"]).size().unstack(fill_value=0).sort_index()
    present = set(counts.columns)
    order = [e for e in ENCODINGS if e in present] + sorted(present - set(ENCODINGS))
    xs = [int(s) for s in counts.index]
    fig = _figure(title, "Segments per message (SMS parts)", "Messages (count)")
    fig.update_layout(barmode="group", legend_title_text="Encoding", legend=_LEGEND_ABOVE)
    for encoding in order:
        fig.add_bar(x=xs, y=counts[encoding].astype(int).tolist(), name=encoding,
                    marker_color=ENCODING_COLORS.get(encoding, OTHER_COLOR))
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=xs)
    return fig
