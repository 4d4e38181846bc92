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
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from ..numbers.classify import country_table, operator_table

BASE_LOW, BASE_HIGH = 0.02, 0.25
OPERATOR_SPREAD = 0.30
RATE_QUANTUM = Decimal("0.0001")
UNKNOWN_DESTINATION = "Unknown "


@dataclass(frozen=True)
class RateRow:
    country_id: int
    region: str
    country: str
    mcc: str
    mnc: str | None  # None: the country default
    operator: str | None
    rate: Decimal


@dataclass(frozen=True)
class Country:
    country_id: int
    region: str
    country: str
    iso3: str
    mcc: str


def _rate(value: float) -> Decimal:
    return max(RATE_QUANTUM, Decimal(repr(value)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN))


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

    @staticmethod
    @lru_cache(maxsize=8)
    def for_seed(seed: int) -> "RateCard":
        """The card of ``seed``, built once per process (it is immutable)."""
        return RateCard(seed)

    def frame(self) -> pd.DataFrame:
        """The card as a DataFrame (rates as Decimal objects), for tests and notebooks."""
        return pd.DataFrame([r.__dict__ for r in self.rows])
