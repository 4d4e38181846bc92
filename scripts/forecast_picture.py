"""Draw the README's picture of the spend forecast: ``docs/img/forecast.html`` (plotly) and
``docs/img/forecast.png``.

The figure is ``sa.forecast(...).figure()`` over a made-up but fixed ledger (a month of sends,
one scheduled for later, a 500 GBP budget), so the picture repeats.  The PNG comes from kaleido
when it is installed, else from a Chromium screenshot of the HTML (Playwright, /usr/bin/chromium);
with neither, only the HTML is written.

    python scripts/forecast_picture.py
"""
from __future__ import annotations

import tempfile
import types
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd

import smsgic_analytics as sa
from smsgic_analytics.sending.budget import Budgets
from smsgic_analytics.sending.ledger import Ledger, campaign_key

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"
ACCOUNT = "0123456789abcdef"
SENDS = [(1, "31.2000"), (2, "12.5000"), (4, "44.0000"), (6, "18.7500"), (8, "52.1000"), (9, "9.9000"),
         (11, "37.4000"), (12, "21.0000"), (14, "48.3000")]


def ledger(folder: Path) -> Ledger:
    now = {"t": datetime(2026, 12, 1, tzinfo=UTC)}
    book = Ledger(folder / "ledger.sqlite", clock=lambda: now["t"], lane=0)
    for day, total, scheduled in [(d, t, None) for d, t in SENDS] + [(14, "60.0000", "2026-12-19 10:00:00")]:
        now["t"] = datetime(2026, 12, day, 10, tzinfo=UTC)
        money = Decimal(total)
        quote = types.SimpleNamespace(sms_count=1, subtotal=money, tax=Decimal(0), total=money, currency="GBP",
                                      destinations=pd.DataFrame({"destination": ["Latvia "], "country": ["Latvia"],
                                                                 "operator": [None], "numbers": [1], "sms_count": [1],
                                                                 "price": [money], "total": [money]}))
        qid = book.record_quote(ACCOUNT, f"campaign {day}", ["37120000001"], quote)
        send_id, _ = book.claim_send(ACCOUNT, campaign_key(f"campaign {day}", ["37120000001"], "MegaShop", scheduled),
                                     qid, "MegaShop", scheduled, "default", 1, duplicate_window=None)
        book.complete_send(send_id, send_id)
    Budgets(book).set(ACCOUNT, month=Decimal("500.00"))
    now["t"] = datetime(2026, 12, 15, 9, tzinfo=UTC)
    return book


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        forecast = sa.forecast(ledger(Path(work)), account=ACCOUNT)
    fig = forecast.figure()
    fig.update_layout(width=900, height=480)
    html = OUT / "forecast.html"
    fig.write_html(html, include_plotlyjs="cdn", full_html=True, div_id="forecast")
    png = OUT / "forecast.png"
    try:
        fig.write_image(png)  # kaleido
        how = "kaleido"
    except (ValueError, ImportError, RuntimeError):
        how = _screenshot(fig, png)
    print(forecast.sentence)
    print(f"wrote {html}" + (f" and {png} ({how})" if how else " (no PNG: neither kaleido nor Chromium)"))


def _screenshot(fig, png: Path) -> str:
    """The figure drawn by Chromium (plotly.js inline: no network), cropped to the plot."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return ""
    page_html = fig.to_html(include_plotlyjs=True, full_html=True, div_id="forecast")
    with tempfile.TemporaryDirectory() as work:
        page = Path(work) / "forecast.html"
        page.write_text(page_html, encoding="utf-8")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            tab = browser.new_page(viewport={"width": 940, "height": 520})
            tab.goto(page.as_uri())
            tab.wait_for_selector("#forecast .main-svg")
            tab.locator("#forecast").screenshot(path=str(png))
            browser.close()
    return "Chromium screenshot"


if __name__ == "__main__":
    main()
