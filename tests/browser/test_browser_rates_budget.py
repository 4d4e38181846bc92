"""Notebook 06 walked in Chromium under the README's launcher (``smsgic-analytics lab``, what
``make lab`` runs): Run All with no error output; the rate changes, the re-pricing at an old card,
the budget guard's refusal and the forecast sentence are on the page; the price-history and
forecast charts are drawn and fit the column; the lab account's balance is untouched (the
notebook sends from a demo account).  Screenshots go to test-artifacts/walk-06-*.png."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import test_browser_walk as walk  # the launcher, Run All and the fit checks of the main walk

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1200)]

NOTEBOOK = "06_rates_and_budget.ipynb"


def test_notebook_06_runs_in_jupyterlab_refuses_over_budget_and_draws_the_forecast(browser: Any, token: str,
                                                                                  tmp_path: Path) -> None:
    with walk.notebook_in_lab(browser, token, tmp_path, NOTEBOOK) as (page, base, api, own_balance):
        walk.run_all(page, "06")
        walk.shoot(page, "06-run-all")
        text = walk.page_text(page)
        assert re.search(r"\d+ snapshots kept for \d+ fetches", text)
        assert re.search(r"Total then [\d.]+ GBP, today [\d.]+ GBP: -?[\d.]+ GBP", text)
        assert "BudgetExceededError: Nothing was sent: it would take" in text
        # the days depend on the lab sandbox's clock under the launcher: any of the three verdicts
        assert re.search(r"(At this pace you (reach|stay within) the budget|The budget of [\d.]+ GBP is already used)",
                         text)
        assert "Rate card reset; 0 dated changes left." in text
        walk.assert_fits(page, walk.PANEL, "06", min_figures=2)  # price over time and the forecast
        walk.shut_down_kernels(base, token)
        assert walk.lab_balance(api) == own_balance  # the notebook sent from a demo account only
