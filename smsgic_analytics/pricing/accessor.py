"""The pandas ``.sms`` accessor: the package's functions as methods of a Series or DataFrame.

Registered when ``smsgic_analytics`` is imported.  Every method calls the function it names
(same kernels, same errors); a DataFrame's phone column is found by name as
``read_audience`` finds it (``audience.columns``), or named with ``phone=``.

>>> df.sms.estimate("Hi {first_name}", rates=client.rates())   # doctest: +SKIP
>>> df["phone"].sms.normalise(default_region="GB")             # doctest: +SKIP

On a Dask DataFrame or Series (``dask.dataframe``'s accessor API, registered as soon as
``dask.dataframe`` is imported, before or after this package) the methods whose function works on
Dask do the same: ``normalise``, ``classify`` and ``segments`` map the same kernels over the
partitions (lazy, same index), ``estimate`` is ``estimate``'s out-of-core ``DaskEstimate``.
``audit`` and ``compare_copies`` need the whole list at once (duplicates, runs, per-variant
totals) and say so.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
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


# --- Dask: the same kernels mapped over partitions ------------------------------------------

_WHOLE = ("{what} needs the whole list at once (duplicates and runs span partitions): "
          "compute the phone column first (ddf['phone'].compute().sms.{what}())")


def _lazy(collection: Any, kernel: Any, *args: Any) -> Any:
    """``collection.map_partitions(kernel, *args)`` with the meta of the kernel on an empty part
    (its categoricals' categories unknown: each partition has its own)."""
    from dask.dataframe.utils import clear_known_categories

    meta = kernel(collection._meta, *args)
    if isinstance(meta, pd.DataFrame):
        meta = clear_known_categories(meta)
    return collection.map_partitions(kernel, *args, meta=meta, enforce_metadata=False)


def _normalise_part(part: pd.Series, default_region: str | None, reasons: bool) -> pd.Series | pd.DataFrame:
    return SeriesSMS(part).normalise(default_region, reasons=reasons)


def _classify_part(part: pd.Series, default_region: str | None, exact: bool) -> pd.DataFrame:
    return classify(part, exact=exact, default_region=default_region)


def _segments_part(part: pd.Series) -> pd.DataFrame:
    return segment_counts(part)


def _template_part(part: pd.DataFrame, template: str) -> pd.DataFrame:
    return segment_counts(fill_template(template, part))


class DaskSeriesSMS:
    """``dask_series.sms``: ``SeriesSMS`` on a Dask Series (lazy where the function is)."""

    def __init__(self, series: Any) -> None:
        self._s = series

    def normalise(self, default_region: str | None = None, *, reasons: bool = False) -> Any:
        """Lazy ``SeriesSMS.normalise`` of each partition."""
        return _lazy(self._s, _normalise_part, default_region, reasons)

    normalize = normalise

    def classify(self, default_region: str | None = None, exact: bool = False) -> Any:
        """Lazy ``classify`` of each partition."""
        return _lazy(self._s, _classify_part, default_region, exact)

    def segments(self) -> Any:
        """Lazy ``segment_counts`` of each partition's texts."""
        return _lazy(self._s, _segments_part)

    def estimate(self, message: str, rates: Any, default_region: str | None = None, **options: Any) -> OfflineEstimate:
        """``estimate(dask_series, message, rates=...)``: a ``DaskEstimate`` (``progress``, ``sample``...)."""
        return estimate(self._s, message, rates=rates, default_region=default_region, **options)

    def audit(self, *args: Any, **kwargs: Any) -> Audit:
        raise TypeError(_WHOLE.format(what="audit"))


class DaskFrameSMS:
    """``dask_df.sms``: ``FrameSMS`` on a Dask DataFrame (lazy where the function is)."""

    def __init__(self, frame: Any) -> None:
        self._df = frame

    def phones(self, phone: Any = None) -> Any:
        """The phone column (found by name, or ``phone=``)."""
        return self._df[phone_column(self._df, phone)]

    def classify(self, phone: Any = None, default_region: str | None = None, exact: bool = False) -> Any:
        """Lazy ``classify`` of the phone column."""
        return DaskSeriesSMS(self.phones(phone)).classify(default_region, exact)

    def segments(self, template: str) -> Any:
        """Lazy ``segment_counts`` of ``template`` filled per row."""
        return _lazy(self._df, _template_part, template)

    def estimate(self, message: str, rates: Any, phone: Any = None, default_region: str | None = None,
                 **options: Any) -> OfflineEstimate:
        """``estimate(dask_df, message, rates=..., column=phone)``: a ``DaskEstimate``; a
        ``{column}`` template is filled from this frame's columns."""
        column = phone_column(self._df, phone)
        return estimate(self._df, message, rates=rates, column=column, default_region=default_region, **options)

    def audit(self, *args: Any, **kwargs: Any) -> Audit:
        raise TypeError(_WHOLE.format(what="audit"))

    def compare_copies(self, *args: Any, **kwargs: Any) -> CopyComparison:
        raise TypeError("compare_copies needs the audience in memory: ddf.compute().sms.compare_copies(...)")


def register_dask() -> None:
    """Register ``.sms`` on Dask DataFrames and Series (``dask.dataframe.extensions``)."""
    from dask.dataframe.extensions import register_dataframe_accessor, register_series_accessor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        register_series_accessor("sms")(DaskSeriesSMS)
        register_dataframe_accessor("sms")(DaskFrameSMS)


class _AfterDaskImport(importlib.abc.MetaPathFinder):
    """Registers the Dask accessor once ``dask.dataframe`` is imported: importing it here would
    add half a second to ``import smsgic_analytics`` for everyone."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "dask.dataframe":
            return None
        sys.meta_path.remove(self)  # one shot; the real finders find the module
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            register_dask()

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def register() -> None:
    """Register ``.sms`` on Series and DataFrames (once; quietly replaces an older ``.sms`` of ours),
    and on Dask's now if ``dask.dataframe`` is loaded, else as soon as it is."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas warns when a name is registered again
        pd.api.extensions.register_series_accessor("sms")(SeriesSMS)
        pd.api.extensions.register_dataframe_accessor("sms")(FrameSMS)
    if "dask.dataframe" in sys.modules:
        register_dask()
    elif not any(isinstance(f, _AfterDaskImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterDaskImport())
