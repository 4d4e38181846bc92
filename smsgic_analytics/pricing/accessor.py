"""The pandas ``.sms`` accessor: the package's functions as methods of a Series or DataFrame.

Registered when ``smsgic_analytics`` is imported.  Every method calls the function it names
(same kernels, same errors); a DataFrame's phone column is found by name as
``read_audience`` finds it (``audience.columns``), or named with ``phone=``.

>>> df.sms.estimate("Hi {first_name}", rates=client.rates())   # doctest: +SKIP
>>> df["phone"].sms.normalise(default_region="GB")             # doctest: +SKIP
"""
from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from ..numbers.classify import classify
from ..numbers.normalize import normalize_numbers
from ..text.counts import segment_counts
from ..text.templates import fill_template, placeholders
from .audit import Audit, audit, phone_column
from .copies import CopyComparison, compare_copies
from .estimate import estimate
from .offline import OfflineEstimate


class SeriesSMS:
    """``series.sms``: a column of phone numbers (or, for ``segments``, of texts)."""

    def __init__(self, series: pd.Series) -> None:
        self._s = series

    def normalise(self, default_region: str | None = None, *, reasons: bool = False) -> pd.Series | pd.DataFrame:
        """The normalised digits (``normalize_numbers``), <NA> where refused; with
        ``reasons=True`` a DataFrame[number, reason] (the reason is <NA> where accepted)."""
        digits, why = normalize_numbers(self._s, default_region)
        number = pd.Series(digits, index=self._s.index, dtype="string", name="number")
        if not reasons:
            return number
        return pd.DataFrame({"number": number, "reason": pd.Series(why, index=self._s.index, dtype="string")})

    normalize = normalise

    def classify(self, default_region: str | None = None, exact: bool = False) -> pd.DataFrame:
        """``classify`` of the numbers (same index)."""
        return classify(self._s, exact=exact, default_region=default_region)

    def segments(self) -> pd.DataFrame:
        """``segment_counts`` of the texts (same index)."""
        return segment_counts(self._s)

    def estimate(self, message: str, rates: Any, default_region: str | None = None) -> OfflineEstimate:
        """The offline estimate (``estimate(series, message, rates=...)``)."""
        return estimate(self._s, message, rates=rates, default_region=default_region)

    def audit(self, rates: Any = None, message: str | None = None, default_region: str | None = None,
              history: pd.DataFrame | None = None) -> Audit:
        """``audit`` of the numbers."""
        return audit(self._s, rates, message, default_region=default_region, history=history)


class FrameSMS:
    """``df.sms``: an audience, one row per recipient, its phone column found by name or ``phone=``."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._df = frame

    def phones(self, phone: Any = None) -> pd.Series:
        """The phone column (an error naming the columns when there is none or several)."""
        return self._df[phone_column(self._df, phone)]

    def classify(self, phone: Any = None, default_region: str | None = None, exact: bool = False) -> pd.DataFrame:
        """``classify`` of the phone column (same index)."""
        return classify(self.phones(phone), exact=exact, default_region=default_region)

    def segments(self, template: str) -> pd.DataFrame:
        """``segment_counts`` of ``template`` filled per row (``fill_template``; same index)."""
        return segment_counts(fill_template(template, self._df))

    def estimate(self, message: str, rates: Any, phone: Any = None,
                 default_region: str | None = None) -> OfflineEstimate:
        """The offline estimate of ``message`` (one text or a ``{column}`` template filled from
        these rows) to the phone column: ``estimate(df[phone], message, rates=, data=df)``."""
        data = self._df if placeholders(message) else None
        return estimate(self.phones(phone), message, rates=rates, data=data, default_region=default_region)

    def audit(self, rates: Any = None, message: str | None = None, phone: Any = None,
              default_region: str | None = None, history: pd.DataFrame | None = None) -> Audit:
        """``audit`` of this audience."""
        return audit(self._df, rates, message, phone=phone, default_region=default_region, history=history)

    def compare_copies(self, variants: list[str], rates: Any, phone: Any = None,
                       default_region: str | None = None) -> CopyComparison:
        """``compare_copies`` of ``variants`` on this audience."""
        return compare_copies(self._df, variants, rates, phone=phone, default_region=default_region)


def register() -> None:
    """Register ``.sms`` on Series and DataFrames (once; quietly replaces an older ``.sms`` of ours)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas warns when a name is registered again
        pd.api.extensions.register_series_accessor("sms")(SeriesSMS)
        pd.api.extensions.register_dataframe_accessor("sms")(FrameSMS)
