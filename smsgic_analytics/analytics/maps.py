"""World maps: a choropleth of rates or quoted cost per country, drawn from the vendored
ISO-3 outlines (no map tiles fetched: the notebooks run offline)."""
from __future__ import annotations

import copy
import functools
import json
from collections import defaultdict
from importlib import resources
from typing import Any, Iterable

import mobile_codes
import pandas as pd
import plotly.graph_objects as go

from ..core.money import format_money, is_missing, parse_money
from .figures import (
    COLORSCALE,
    LAND_COLOR,
    NO_DATA,
    NO_FETCH_ANCHOR,
    WORLD_GEOJSON,
    add_note,
    base_layout,
    chart_currency,
    cost_sums,
    empty_figure,
    is_default_mnc,
    is_empty,
    label_of,
    names_note,
    require_columns,
    skipped_note,
)


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
    for label, rows in df.groupby(df["country"].map(label_of), sort=True):
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
    fig = go.Figure(layout=base_layout(title))
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
    add_note(fig, names_note("Not on the map (no ISO-3 code)", unmapped))
    return add_note(fig, names_note("Not on the map (no outline at this scale)", no_outline))


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


def rates_map(rates_df: pd.DataFrame | None, currency: str | None = None) -> go.Figure:
    """World map of each country's default rate (the ``mnc`` null row) per SMS.

    From DataFrame[mcc, mnc, country, rate, currency] as ``client.rates()`` returns.  A
    country with operator rows but no default row is coloured by its highest operator rate
    and says so on hover.  ISO-3 codes come from an ``iso3`` or ``region`` column when
    present, else from the numbering table (by name, then by MCC).
    """
    title = "Default SMS rate by country"
    if is_empty(rates_df):
        return empty_figure(title)
    require_columns(rates_df, ["country", "rate"], "rates_map")
    rated = rates_df[~rates_df["rate"].map(is_missing).astype(bool)]
    if rated.empty:
        return empty_figure(title, f"{NO_DATA} ({len(rates_df)} row(s) without a rate)")
    cur = chart_currency(rated, currency, "rates_map")
    rows = []
    for label, group in rated.groupby(rated["country"].map(label_of), sort=True):
        rates = [parse_money(r, f"rates_map {label}: rate", floats=True) for r in group["rate"]]
        if "mnc" in group.columns:
            default = [r for r, mnc in zip(rates, group["mnc"]) if is_default_mnc(mnc)]
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
    summed = cost_sums(df, ["country"], title, "quoted_cost_map", currency)
    if isinstance(summed, go.Figure):
        return summed
    totals, cur, skipped = summed
    per_country = totals.assign(exact=totals["amount"].map(format_money), detail="quoted cost")
    fig = _choropleth(title, per_country, _iso3_per_country(df), f"Quoted cost ({cur})", cur, "sum")
    return add_note(fig, skipped_note(skipped))
