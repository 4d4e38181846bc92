"""The .sms accessor on Dask equals the function it delegates to, on pandas and on Dask.

A real ``distributed.LocalCluster`` (the session's ``dask_cluster``: two worker processes) runs
every Dask side.  The oracle of each method is the package's function on the same rows in
pandas (``sa.classify``, ``normalize_numbers``, ``sa.segment_counts`` of the filled template,
``sa.estimate``), itself tested against independent implementations elsewhere.
"""
from __future__ import annotations

import random

import dask.dataframe as dd
import pandas as pd
import pytest
from distributed import Client

import smsgic_analytics as sa
from smsgic_analytics.numbers.normalize import normalize_numbers
from smsgic_analytics.numbers.samples import sample_numbers
from smsgic_analytics.pricing.dask import DaskEstimate
from smsgic_analytics.sandbox.ratecard import RateCard
from smsgic_analytics.text.templates import fill_template

TEMPLATE = "Hi {first_name}, your code is ready \u2013 see you soon!"  # the dash: UCS-2


@pytest.fixture(scope="module")
def audience() -> pd.DataFrame:
    rng = random.Random(21)
    phones = sample_numbers(3000, seed=21) + ["12", "n/a", "07700 900123", "+371 2000 0001"]
    rng.shuffle(phones)
    names = [rng.choice(["Ann", "Zo\u00eb", "\u0141ukasz", "O'Brien", "x" * 120]) for _ in phones]
    return pd.DataFrame({"phone": phones, "first_name": names}, index=pd.RangeIndex(10, 10 + len(phones)))


@pytest.fixture(scope="module")
def rates() -> pd.DataFrame:
    card = RateCard.for_seed(0).frame()
    return card[["mcc", "mnc", "country", "rate"]].assign(currency="GBP")


def values(frame: pd.DataFrame | pd.Series) -> list:
    """Rows as plain values: each partition has its own categories, the values are the same."""
    if isinstance(frame, pd.Series):
        return [None if pd.isna(v) else v for v in frame.astype(object)]
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.astype(object).itertuples()]


def test_series_methods_equal_the_functions_on_pandas_and_dask(audience, dask_cluster):
    phones = audience["phone"]
    want_digits = pd.Series(normalize_numbers(phones, "GB")[0], index=phones.index)
    want_classify = sa.classify(phones, default_region="GB")
    assert values(phones.sms.normalise(default_region="GB")) == values(want_digits)
    assert phones.sms.classify(default_region="GB").equals(want_classify)
    with Client(dask_cluster):
        lazy = dd.from_pandas(phones, npartitions=4)
        got = lazy.sms.normalise(default_region="GB")
        assert isinstance(got, dd.Series)  # lazy until computed
        assert values(got.compute()) == values(want_digits)
        assert values(lazy.sms.classify(default_region="GB").compute()) == values(want_classify)
        assert values(lazy.sms.normalise(reasons=True).compute()) == values(phones.sms.normalise(reasons=True))


def test_frame_methods_equal_the_functions_on_pandas_and_dask(audience, rates, dask_cluster):
    want_segments = sa.segment_counts(fill_template(TEMPLATE, audience))
    want = sa.estimate(audience["phone"], TEMPLATE, rates=rates, data=audience)
    assert audience.sms.segments(TEMPLATE).equals(want_segments)
    assert audience.sms.estimate(TEMPLATE, rates=rates).totals == want.totals
    assert set(want_segments["encoding"]) == {"UCS-2"} and want_segments["segments"].nunique() > 1
    with Client(dask_cluster):
        lazy = dd.from_pandas(audience, npartitions=4)
        assert values(lazy.sms.segments(TEMPLATE).compute()) == values(want_segments)
        assert values(lazy.sms.classify().compute()) == values(sa.classify(audience["phone"]))
        est = lazy.sms.estimate(TEMPLATE, rates=rates, progress=False)
        assert isinstance(est, DaskEstimate)
        assert est.totals == want.totals == sa.estimate(lazy, TEMPLATE, rates=rates, column="phone",
                                                        progress=False).totals
        assert est.sms_count == want.sms_count
        one_text = lazy["phone"].sms.estimate("Sale today", rates=rates, progress=False)
        assert one_text.totals == sa.estimate(audience["phone"], "Sale today", rates=rates).totals


def test_what_needs_the_whole_list_says_so(audience):
    lazy = dd.from_pandas(audience, npartitions=2)
    with pytest.raises(TypeError, match=r"audit needs the whole list at once.*compute"):
        lazy.sms.audit()
    with pytest.raises(TypeError, match=r"audit needs the whole list"):
        lazy["phone"].sms.audit()
    with pytest.raises(TypeError, match=r"compare_copies needs the audience in memory"):
        lazy.sms.compare_copies(["Hi"], rates=None)
