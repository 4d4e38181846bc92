"""Re-pricing groups rows by rate object and destination code; property: whatever objects hold the
rates (shared, one per row, equal values written with other digits) and whatever dtype holds the
destinations (categorical with unused categories, or text), the result equals a per-row Decimal loop."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgic_analytics.pricing.quote import Quote
from smsgic_analytics.text.segments import segments

TEXT = "Grüße aus Riga — 20 % Rabatt auf alles, nur heute! Antworte STOP zum Abbestellen."
DESTINATIONS = ["Latvia LMT", "Latvia Tele2", "Singapore ", "Unknown "]
RATE_TEXTS = ["0.1", "0.10", "0.1000", "0.0397", "0.25", "0", "0.00001", "1.5"]


@st.composite
def quotes(draw):
    n = draw(st.integers(1, 40))
    dest = draw(st.lists(st.sampled_from(DESTINATIONS), min_size=n, max_size=n))
    texts = draw(st.lists(st.sampled_from(RATE_TEXTS), min_size=n, max_size=n))
    shared = draw(st.booleans())  # one object per distinct text (as Quote.build interns) or one per row
    pool = {t: Decimal(t) for t in RATE_TEXTS}
    rates = [pool[t] if shared else Decimal(t) for t in texts]
    categorical = draw(st.booleans())
    if categorical:  # categories in another order, with an unused one
        destination = pd.Series(pd.Categorical(dest, categories=DESTINATIONS[::-1] + ["Nowhere "]))
    else:
        destination = pd.Series(dest, dtype="string")
    numbers = pd.DataFrame({
        "number": pd.Series([str(37120000000 + i) for i in range(n)], dtype="string"),
        "destination": destination,
        "country": pd.Series([d.split(" ")[0] for d in dest], dtype="category"),
        "operator": pd.Series([d.split(" ", 1)[1] or None for d in dest], dtype="string"),
        "sms": [1] * n,
        "rate": pd.Series(rates, dtype=object),
        "total": pd.Series(rates, dtype=object),
    })
    subtotal = sum(rates, Decimal(0))
    empty = pd.DataFrame({"index": [], "value": [], "reason": []})
    return Quote(message="hi", numbers=numbers, destinations=pd.DataFrame(columns=[
        "destination", "country", "operator", "numbers", "sms_count", "price", "total"]),
        sms_count=n, subtotal=subtotal, tax=Decimal(0), total=subtotal, currency="GBP", invalid=empty,
        duplicates=pd.DataFrame({"index": [], "value": [], "number": [], "first_index": []}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quote=quotes())
def test_reprice_equals_a_per_row_decimal_loop(quote: Quote) -> None:
    parts = segments(TEXT).segments
    places = max(4, *(-r.as_tuple().exponent for r in quote.numbers["rate"]))
    quantum = Decimal(1).scaleb(-places)
    # the oracle: one Decimal product per row, groups keyed by (destination, rate value)
    row_totals, groups = [], {}
    for d, r in zip(quote.numbers["destination"].astype(str), quote.numbers["rate"]):
        total = (r * parts).quantize(quantum)
        row_totals.append(total)
        g = groups.setdefault((d, r), [0, 0, Decimal(0)])
        g[0], g[1], g[2] = g[0] + 1, g[1] + parts, g[2] + total
    new = quote.reprice(message=TEXT)

    assert [str(t) for t in new.numbers["total"]] == [str(t) for t in row_totals]
    assert new.numbers["sms"].tolist() == [parts] * len(row_totals)
    assert new.numbers["destination"].dtype == quote.numbers["destination"].dtype
    assert new.subtotal == sum(row_totals, Decimal(0)) and new.total == new.subtotal
    assert str(new.subtotal) == str(sum(row_totals, Decimal(0)).quantize(quantum))
    expected = sorted(((d, r, *g) for (d, r), g in groups.items()), key=lambda x: (-x[4], x[0], x[1]))
    got = list(zip(new.destinations["destination"], new.destinations["price"], new.destinations["numbers"],
                   new.destinations["sms_count"], new.destinations["total"]))
    assert got == expected
    assert str(new.destinations["destination"].dtype) == "string"
    assert all(str(t) == str(t.quantize(quantum)) for t in new.destinations["total"])


@pytest.mark.parametrize("categorical", [True, False])
def test_a_missing_rate_names_its_first_row(categorical: bool) -> None:
    dest = ["Latvia LMT"] * 3
    numbers = pd.DataFrame({
        "number": pd.Series(["1", "2", "3"], dtype="string"),
        "destination": pd.Series(dest, dtype="category" if categorical else "string"),
        "country": pd.Series(["Latvia"] * 3, dtype="category"),
        "operator": pd.Series(["LMT"] * 3, dtype="string"),
        "sms": [1, 1, 1],
        "rate": pd.Series([Decimal("0.1"), float("nan"), None], dtype=object),
        "total": pd.Series([Decimal("0.1")] * 3, dtype=object),
    })
    numbers.index = [10, 11, 12]
    q = Quote(message="hi", numbers=numbers, destinations=pd.DataFrame(), sms_count=3, subtotal=Decimal("0.3"),
              tax=Decimal(0), total=Decimal("0.3"), currency="GBP", invalid=pd.DataFrame(),
              duplicates=pd.DataFrame())
    with pytest.raises(ValueError, match="row 11: rate is missing"):
        q.reprice(message="hello")
