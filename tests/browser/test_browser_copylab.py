"""Notebook 07 walked in Chromium under the README's launcher (``smsgic-analytics lab``, what
``make lab`` runs): Run All with no error output, its texts say what it promises, the copy lab's
culprits and part markers are drawn, figures fit the ~970 px column, and clicking **Apply
rewrite** in the page puts the smart-encoded variant into the sender app's message box.
Screenshots go to test-artifacts/walk-07-*.png."""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import test_browser_walk as walk  # the launcher, Run All and the fit checks of the main walk

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1200)]

NOTEBOOK = "07_copy_and_audience.ipynb"
APP = ".smsgic-copylab-app"


def test_notebook_07_runs_in_jupyterlab_and_apply_rewrite_reaches_the_sender(browser: Any, token: str,
                                                                           tmp_path: Path) -> None:
    with walk.notebook_in_lab(browser, token, tmp_path, NOTEBOOK) as (page, base, api, own_balance):
        walk.run_all(page, "07")
        walk.shoot(page, "07-run-all")
        text = walk.page_text(page)
        assert re.search(r"\d+ countries this account never sent to", text)
        assert "The sender's message is now: Spring sale... 30% off everything until Sunday - don't miss it!" in text
        assert "True " in text  # the Dask estimate equals the in-memory one
        walk.assert_fits(page, walk.PANEL, "07", min_figures=2)  # the notebook's chart and the lab's

        lab = page.locator(APP)
        lab.scroll_into_view_if_needed()
        assert lab.locator("mark.smsgic-culprit").count() >= 3  # ’ – and the names' letters, in place
        assert lab.locator(".smsgic-part-break").count() >= 1  # where part 2 begins
        assert "U+2019" in lab.inner_text()
        walk.shoot(page, "07-copylab")

        message = page.locator(".smsgic-sender-message textarea").first
        before = message.input_value()
        lab.locator(".smsgic-copylab-apply:not([disabled])").first.click()
        deadline = time.monotonic() + 60
        while message.input_value() == before:
            assert time.monotonic() < deadline, "Apply rewrite did not reach the sender"
            time.sleep(0.5)
        now = message.input_value()
        assert now.startswith("Hi {first_name}, it's our spring sale - 30% off"), now
        assert "\u2019" not in now and "\u2013" not in now
        walk.shoot(page, "07-applied")
        walk.shut_down_kernels(base, token)
        assert walk.lab_balance(api) == own_balance  # the notebook sent from a demo account only
