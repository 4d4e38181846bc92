"""The sandbox's world rate card, built from real numbering data and a seed.

Rules (deterministic for a given seed and numbering data):

* Countries: every row of ``numbering.country_table()`` (phonenumbers regions that have an
  MCC in mobile_codes), sorted by English name; ``country_id`` is the 1-based position in
  that order (Afghanistan = 1).
* Each country draws a base rate uniformly from 0.02-0.25 GBP; each distinct operator
  MCC/MNC of the country (``numbering.operator_table()`` rows with a matched MNC; the first
  country in name order keeps an MCC/MNC shared by several) draws base x U(0.7, 1.3).
  Rates are rounded to 4 decimals (at least 0.0001).
* The country default row (mnc null) costs max(base, its operator rates): the default is
  never cheaper than an operator, so pricing an unknown operator never underestimates.
* A number that cannot be placed in any country on the card is priced at the card's
  highest rate, destination "Unknown " (never free).

The test controls can change prices while a sandbox runs (``PUT /__sandbox__/rates``): a
changed card is a new ``RateCard`` made by ``with_rates`` -- the seed's card, shared by every
sandbox of the process, never changes.  A row is named by its ``key`` (region, mcc, mnc);
several countries can share an MCC (234: Guernsey, Isle of Man, Jersey, United Kingdom), so
a country default row needs its region (or country_id) to be found.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cached_property, lru_cache
from typing import Mapping

import numpy as np
import pandas as pd

from ..numbers.classify import country_table, operator_table

BASE_LOW, BASE_HIGH = 0.02, 0.25
OPERATOR_SPREAD = 0.30
RATE_QUANTUM = Decimal("0.0001")
UNKNOWN_DESTINATION = "Unknown "

RateKey = tuple[str, str, str | None]  # (region, mcc, mnc): one row of the card


@dataclass(frozen=True)
class RateRow:
    country_id: int
    region: str
    country: str
    mcc: str
    mnc: str | None  # None: the country default
    operator: str | None
    rate: Decimal

    @property
    def key(self) -> RateKey:
        """(region, mcc, mnc): names this row, whatever its rate (operator MCC/MNCs are unique;
        a default row's MCC may be shared, its region is not)."""
        return (self.region, self.mcc, self.mnc)


@dataclass(frozen=True)
class Country:
    country_id: int
    region: str
    country: str
    iso3: str
    mcc: str


def _rate(value: float) -> Decimal:
    return max(RATE_QUANTUM, Decimal(repr(value)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN))


def scaled_rate(rate: Decimal, factor: Decimal) -> Decimal:
    """``rate x factor`` rounded half-even to 4 decimals, at least 0.0001 (a rate is never free).

    Exact as long as the product has at most 28 significant digits (the decimal context's
    precision): the controls accept factors of at most 8 decimals up to 100 and rates up to
    1,000.0000, so it has at most 19.
    """
    return max(RATE_QUANTUM, (rate * factor).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN))


class RateCard:
    """Rows in country-name order (default row first, then operators by MNC), plus lookups."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        rng = np.random.default_rng(seed)
        countries = country_table().sort_values(["country", "region"], kind="stable").reset_index(drop=True)
        operators = operator_table()
        operators = operators[operators["mnc"].notna() & operators["mcc"].notna()]
        taken: set[tuple[str, str]] = set()
        self.countries: list[Country] = []
        self.rows: list[RateRow] = []
        for index, c in enumerate(countries.itertuples(index=False), start=1):
            country = Country(index, str(c.region), str(c.country), str(c.iso3), str(c.mcc))
            self.countries.append(country)
            base = rng.uniform(BASE_LOW, BASE_HIGH)
            own = operators[operators["region"] == country.region].sort_values(["mcc", "mnc", "operator"])
            operator_rows = []
            for op in own.itertuples(index=False):
                key = (str(op.mcc), str(op.mnc))
                if key in taken:
                    continue
                taken.add(key)
                factor = rng.uniform(1 - OPERATOR_SPREAD, 1 + OPERATOR_SPREAD)
                operator_rows.append(RateRow(index, country.region, country.country, key[0], key[1],
                                             str(op.operator), _rate(base * factor)))
            default = max([_rate(base)] + [r.rate for r in operator_rows])
            self.rows.append(RateRow(index, country.region, country.country, country.mcc, None, None, default))
            self.rows.extend(operator_rows)

    @cached_property
    def by_mcc_mnc(self) -> dict[tuple[str, str], RateRow]:
        return {(r.mcc, r.mnc): r for r in self.rows if r.mnc is not None}

    @cached_property
    def default_by_region(self) -> dict[str, RateRow]:
        return {r.region: r for r in self.rows if r.mnc is None}

    @cached_property
    def country_ids(self) -> frozenset[int]:
        return frozenset(c.country_id for c in self.countries)

    @cached_property
    def max_rate(self) -> Decimal:
        return max(r.rate for r in self.rows)

    def filter(self, mcc: str | None = None, mnc: str | None = None, country: str | None = None,
               country_id: int | None = None) -> list[RateRow]:
        """Rows matching every given filter; mnc "null" selects default rows, country is a
        case-insensitive substring of the country name."""
        needle = country.casefold() if country else None
        out = []
        for r in self.rows:
            if mcc is not None and r.mcc != mcc:
                continue
            if mnc is not None and (r.mnc is not None if mnc == "null" else r.mnc != mnc):
                continue
            if needle is not None and needle not in r.country.casefold():
                continue
            if country_id is not None and r.country_id != country_id:
                continue
            out.append(r)
        return out

    def with_rates(self, rates: Mapping[RateKey, Decimal]) -> "RateCard":
        """A new card: this one with the rows named in ``rates`` at those rates (keys of no
        row are ignored).  This card is left as it is, and so are its lookups."""
        card = object.__new__(RateCard)
        card.seed = self.seed
        card.countries = self.countries
        card.rows = [replace(r, rate=rates[r.key]) if r.key in rates else r for r in self.rows]
        return card

    def changes_from(self, base: "RateCard") -> dict[RateKey, Decimal]:
        """The rows whose rate differs from ``base``'s: what a changed card must remember."""
        before = {r.key: r.rate for r in base.rows}
        return {r.key: r.rate for r in self.rows if before.get(r.key) != r.rate}

    @staticmethod
    @lru_cache(maxsize=8)
    def for_seed(seed: int) -> "RateCard":
        """The card of ``seed``, built once per process (it is immutable)."""
        return RateCard(seed)

    def frame(self) -> pd.DataFrame:
        """The card as a DataFrame (rates as Decimal objects), for tests and notebooks."""
        return pd.DataFrame([r.__dict__ for r in self.rows])
