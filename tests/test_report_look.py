"""Look at the rendered report in a real browser (headless Chromium).

Writes ``test-artifacts/screenshots/report-look.png`` (a standalone report page) so a
person can check it, and pins the layout facts a review of that picture found worth
keeping: the risk table fits the page, the ROC (with its legend beside the axes) is
shown at a readable size, redacted values stay hidden, nothing is fetched.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_render import build_report
from test_share import Page, browser, page  # noqa: F401  (fixtures)

import mia_notebook as mn

ATTACKS = "loss,confidence,logit,entropy,mentropy,gap,shadow,rmia-offline"


@pytest.fixture(scope="module")
def look_report(cancer_splits: tuple[pd.DataFrame, pd.DataFrame]) -> mn.AuditReport:
    return build_report(cancer_splits, attacks=ATTACKS, references=4, n_jobs=1)


@pytest.mark.browser
def test_report_page_screenshot(page: Page, look_report: mn.AuditReport, tmp_path: Path):  # noqa: F811
    path = tmp_path / "report.html"
    look_report.to_html(path)
    pg = page.open(path)
    page.screenshot("report-look")
    assert not page.external and not page.dialogs
    assert "999-" not in pg.locator("div.mia-report").inner_text()
    # the risk table fits the page: no horizontal scrolling to reach a column
    box = pg.evaluate(
        "() => { const b = document.querySelector('div.mia-scroll');"
        " return [b.scrollWidth, b.clientWidth]; }"
    )
    assert box[0] <= box[1] + 1, box
    # the ROC picture is shown at a readable size, legend included (wider than tall)
    size = pg.evaluate(
        "() => { const i = document.querySelector('img.mia-roc');"
        " const r = i.getBoundingClientRect(); return [i.naturalWidth, r.width, r.height]; }"
    )
    assert size[0] > 0 and size[1] >= 600 and size[1] > size[2], size
