"""``RateExplorerApp``: browse the account's rates -- filter, sort, compare countries, map.

The rates table is fetched once (``client.rates()``, cached for hours by the client) and
filtered locally, so typing in the filters makes no API call.  /rates rows carry MCC/MNC
but no operator name; names come from the offline numbering data (phonenumbers' carriers
matched to MCC/MNC, then the mobile_codes table), and the ``mnc`` null row is the country
default.

>>> app = RateExplorerApp(client)            # doctest: +SKIP
>>> app.filter(country="king", operator="voda")  # doctest: +SKIP
>>> app.filter(country="UK")                     # doctest: +SKIP  (United Kingdom, not Ukraine)
"""
from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Iterable

import ipywidgets as w
import pandas as pd

from ..analytics import charts
from ..core.display import COUNTRY_DEFAULT
from ..core.errors import SMSgicError
from ..core.money import format_money, parse_money
from ..numbers import mccmnc
from ..numbers.classify import operator_table
from ..numbers.countries import MIN_SUBSTRING, find_regions, fold, region_for
from .panels import export_links
from .widgets import App, error_html, frame_html, note_html, show_figure, table_html, tag

if TYPE_CHECKING:
    from ..client import Client

NAME = "rates"
DEFAULT_LABEL = COUNTRY_DEFAULT  # the mnc-null row: the rate of a number whose operator has none
SORTS = {"country": "Country (as the API lists them)", "rate_asc": "Rate: lowest first",
         "rate_desc": "Rate: highest first"}
COLUMNS = ["country", "operator", "mcc", "mnc", "rate", "currency"]
COMPARE_COLUMNS = ["country", "default_rate", "lowest", "highest", "operators", "cheapest_operator", "currency"]


@lru_cache(maxsize=1)
def _operator_names() -> tuple[dict[tuple[str, str, str], str], dict[tuple[str, str], str]]:
    """(country, mcc, mnc) -> name and (mcc, mnc) -> name: phonenumbers' carriers first, as the
    API's destinations ("Country Operator") use them, then mobile_codes' brand or operator."""
    ops = operator_table()
    ops = ops[ops["mcc"].notna() & ops["mnc"].notna()]
    by_country: dict[tuple[str, str, str], set[str]] = {}
    by_code: dict[tuple[str, str], set[str]] = {}
    for country, mcc, mnc, name in zip(ops["country"], ops["mcc"], ops["mnc"], ops["operator"]):
        by_country.setdefault((str(country).casefold(), str(mcc), str(mnc)), set()).add(str(name))
        by_code.setdefault((str(mcc), str(mnc)), set()).add(str(name))
    for row in mccmnc.mnc_rows():
        name = row.brand or row.operator
        if name and (row.mcc, row.mnc) not in by_code:
            by_code[(row.mcc, row.mnc)] = {name}
    join = lambda names: " / ".join(sorted(names, key=str.casefold))  # noqa: E731
    return {k: join(v) for k, v in by_country.items()}, {k: join(v) for k, v in by_code.items()}


def with_operators(rates: pd.DataFrame) -> pd.DataFrame:
    """``rates`` (as ``client.rates()`` returns) with an ``operator`` column after ``country``."""
    by_country, by_code = _operator_names()
    names = []
    for country, mcc, mnc in zip(rates["country"], rates["mcc"], rates["mnc"]):
        if pd.isna(mnc) or str(mnc).strip() in ("", "null"):
            names.append(DEFAULT_LABEL)
            continue
        key = (str(mcc), str(mnc))
        names.append(by_country.get((str(country).casefold(), *key)) or by_code.get(key) or f"MNC {mnc}")
    out = rates.copy()
    out.insert(list(out.columns).index("country") + 1, "operator", pd.Series(names, index=rates.index, dtype="string"))
    return out


def with_regions(rates: pd.DataFrame) -> pd.DataFrame:
    """``rates`` with a ``region`` column (ISO code, by country name, else by an MCC one country owns)."""
    pairs = {(str(c), str(m)) for c, m in zip(rates["country"], rates["mcc"])}
    regions = {pair: region_for(*pair) for pair in pairs}
    out = rates.copy()
    out["region"] = pd.Series([regions[(str(c), str(m))] for c, m in zip(rates["country"], rates["mcc"])],
                              index=rates.index, dtype="string")
    return out


def country_mask(rates: pd.DataFrame, query: str) -> pd.Series:
    """Rows of the countries ``query`` names: by ISO code, alias or name in any of the country's
    languages (``numbers.countries.find_regions``), or whose listed name contains it (3+ letters)."""
    regions = set(find_regions(query))
    mask = rates["region"].isin(regions).fillna(False).astype(bool)
    if len(fold(query)) >= MIN_SUBSTRING:
        mask |= rates["country"].astype(str).map(fold).str.contains(fold(query), regex=False)
    return mask


class RateExplorerApp(App):
    """Filter rates by country (name in English or its own language, ISO code, or alias: "UK",
    "DE", "Deutschland") and operator (part of its name, or its MNC),
    sort by rate, compare selected countries side by side, and see default rates on a map.

    ``rates`` may be given instead of fetching them with ``client``.  Properties: ``table``
    (the filtered, sorted rows shown), ``comparison``, ``error``.
    """

    def __init__(self, client: "Client | None" = None, rates: pd.DataFrame | None = None) -> None:
        self.client = client
        self.error: BaseException | None = None
        self._all = pd.DataFrame(columns=COLUMNS)
        self._table = self._all
        self._comparison = pd.DataFrame(columns=COMPARE_COLUMNS)
        self._map_key: tuple[str, ...] | None = None
        self._build()
        try:
            if rates is None:
                if client is None:
                    raise TypeError("RateExplorerApp needs a client (or rates=, a DataFrame like client.rates())")
                rates = client.rates()
            self._all = with_regions(with_operators(rates)).reset_index(drop=True)
        except SMSgicError as exc:
            self.error = exc
            self.status.value = error_html(exc)
        self.compare_select.options = sorted({str(c) for c in self._all["country"]}, key=str.casefold)
        self._refresh()

    def _build(self) -> None:
        self.country_input = tag(w.Text(description="Country", placeholder="name, code or alias (UK, DE)",
                                        continuous_update=True), NAME, "country")
        self.operator_input = tag(w.Text(description="Operator", placeholder="name, MNC or 'default'",
                                         continuous_update=True), NAME, "operator")
        self.sort_input = tag(w.Dropdown(options=[(label, key) for key, label in SORTS.items()], value="country",
                                         description="Sort"), NAME, "sort")
        self.status = tag(w.HTML(), NAME, "status")
        self.table_view = tag(table_html(), NAME, "table")
        self.table_exports = tag(w.HTML(), NAME, "table-exports")
        self.comparison_exports = tag(w.HTML(), NAME, "comparison-exports")
        self.compare_select = tag(w.SelectMultiple(options=[], description="Compare", rows=8), NAME, "compare")
        self.comparison_view = tag(table_html(), NAME, "comparison")
        self.map = tag(w.Output(), NAME, "map")
        wrap = {"layout": w.Layout(flex_flow="row wrap")}  # rows wrap in a narrow notebook column
        self.widget = tag(w.VBox([
            w.HBox([self.country_input, self.operator_input, self.sort_input], **wrap),
            self.status,
            self.table_view,
            self.table_exports,
            w.HBox([self.compare_select, w.VBox([self.comparison_view, self.comparison_exports],
                                                layout=w.Layout(min_width="0", max_width="100%"))], **wrap),
            self.map,
        ]), NAME, "app")
        for control in (self.country_input, self.operator_input, self.sort_input):
            control.observe(lambda _: self._refresh(), "value")
        self.compare_select.observe(lambda _: self._refresh_comparison(), "value")

    # -- public methods ----------------------------------------------------------------------

    def filter(self, country: str | None = None, operator: str | None = None) -> pd.DataFrame:
        """Show the rows whose country contains ``country`` and whose operator name contains
        ``operator`` (or whose MNC equals it; "default" finds the country default rows).
        None clears a filter.  Case-insensitive.  Returns the table shown."""
        self.country_input.value = country or ""
        self.operator_input.value = operator or ""
        return self.table

    def sort(self, by: str) -> pd.DataFrame:
        """Sort the table: "country" (the API's order), "rate_asc" or "rate_desc"."""
        if by not in SORTS:
            raise ValueError(f"sort: by must be one of {', '.join(SORTS)}, got {by!r}")
        self.sort_input.value = by
        return self.table

    def compare(self, countries: Iterable[str]) -> pd.DataFrame:
        """Compare these countries (exact names as in the table) side by side."""
        countries = list(countries)
        unknown = [c for c in countries if c not in self.compare_select.options]
        if unknown:
            raise ValueError(f"compare: no rates for {unknown}; countries are named as in the table's country column")
        self.compare_select.value = tuple(countries)
        return self.comparison

    @property
    def table(self) -> pd.DataFrame:
        """The rows shown (the ISO ``region`` the lookup uses stays inside the app)."""
        return self._table.drop(columns="region", errors="ignore")

    @property
    def comparison(self) -> pd.DataFrame:
        """One row per compared country: default rate, lowest/highest rate, operators, cheapest."""
        return self._comparison.copy()

    # -- rendering ---------------------------------------------------------------------------

    def _filtered(self) -> pd.DataFrame:
        df = self._all
        country = self.country_input.value.strip()
        operator = self.operator_input.value.strip()
        if country:
            df = df[country_mask(df, country)]
        if operator:
            by_name = df["operator"].astype(str).str.contains(operator, case=False, regex=False)
            by_mnc = df["mnc"].astype(str) == operator
            df = df[by_name | by_mnc]
        order = self.sort_input.value
        if order != "country":
            df = df.sort_values(["rate", "country", "mcc"], ascending=[order == "rate_asc", True, True], kind="stable")
        return df.reset_index(drop=True)

    def _refresh(self) -> None:
        self._table = self._filtered()
        shown = [c for c in COLUMNS if c in self._table.columns]
        countries = self._table["country"].nunique()
        if self.error is None:
            self.status.value = note_html(f"{len(self._table):,} of {len(self._all):,} rates, "
                                          f"{countries:,} countries")
        self.table_view.value = frame_html(self._table[shown], empty="No rate matches these filters.",
                                           money_first=True)
        self.table_exports.value = export_links(self._table[shown], "rates", "Download these rates")
        key = (self.country_input.value, self.operator_input.value)
        if key != self._map_key:  # sorting does not change the map
            self._map_key = key
            show_figure(self.map, charts.rates_map(self._table) if len(self._table) else
                        charts.empty_figure("Default SMS rate by country", "No rate matches these filters"))

    def _refresh_comparison(self) -> None:
        rows = []
        for country in self.compare_select.value:
            group = self._all[self._all["country"].astype(str) == country]
            default = group[group["operator"] == DEFAULT_LABEL]
            operators = group[group["operator"] != DEFAULT_LABEL]
            cheapest = operators.sort_values(["rate", "mnc"], kind="stable").head(1)
            rows.append({
                "country": country,
                "default_rate": default["rate"].iloc[0] if len(default) else None,
                "lowest": group["rate"].min(),
                "highest": group["rate"].max(),
                "operators": len(operators),
                "cheapest_operator": (f"{cheapest['operator'].iloc[0]} ({format_money(parse_money(cheapest['rate'].iloc[0], 'rate', floats=True))})"
                                      if len(cheapest) else None),
                "currency": group["currency"].iloc[0] if "currency" in group.columns and len(group) else None,
            })
        self._comparison = pd.DataFrame(rows, columns=COMPARE_COLUMNS)
        self.comparison_view.value = frame_html(self._comparison, empty="Select countries to compare them.")
        self.comparison_exports.value = export_links(self._comparison, "rate-comparison", "Download the comparison")
