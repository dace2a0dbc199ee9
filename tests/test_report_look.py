"""Look at the rendered report in a real browser (headless Chromium).

Writes ``test-artifacts/screenshots/report-look.png`` (a standalone report page) so a
person can check it: legend beside the ROC, readable tables. The assertions check the
layout facts a screenshot review found worth pinning.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

import mia_notebook as mn

ROOT = Path(__file__).parents[1]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium for the rendering tests (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def look_report(cancer_splits: tuple[pd.DataFrame, pd.DataFrame]) -> mn.AuditReport:
    tr, te = cancer_splits
    tr = tr.assign(ssn=[f"999-{i:04d}" for i in range(len(tr))], visits=range(len(tr)))
    te = te.assign(ssn=[f"888-{i:04d}" for i in range(len(te))], visits=range(len(te)))
    feats = [c for c in tr.columns if c not in ("label", "ssn", "visits")]
    clf = RandomForestClassifier(n_estimators=30, random_state=0).fit(tr[feats], tr["label"])
    return mn.audit(
        clf, train=tr, test=te, target="label", features=feats,
        attacks="loss,confidence,logit,entropy,mentropy,gap,shadow,rmia-offline",
        references=4, n_jobs=1, redact=["ssn"], flag=5, slice="mean radius", progress=False,
    )


def test_report_page_screenshot(chromium: Any, look_report: mn.AuditReport, tmp_path: Path):
    path = tmp_path / "report.html"
    look_report.to_html(path)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(path.resolve().as_uri(), wait_until="load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        out = SCREENSHOTS / "report-look.png"
        page.screenshot(path=str(out), full_page=True)
        assert out.stat().st_size > 10_000
        width = page.evaluate("() => document.querySelector('img.mia-roc').naturalWidth")
        assert width > 0
        text = page.locator("div.mia-report").inner_text()
        assert "999-" not in text
        # the risk table fits the page: no horizontal scrolling to reach a column
        box = page.evaluate(
            "() => { const b = document.querySelector('div.mia-scroll');"
            " return [b.scrollWidth, b.clientWidth]; }"
        )
        assert box[0] <= box[1] + 1, box
        # the ROC picture is shown at a readable size, legend included (wider than tall)
        size = page.evaluate(
            "() => { const r = document.querySelector('img.mia-roc').getBoundingClientRect();"
            " return [r.width, r.height]; }"
        )
        assert size[0] >= 600 and size[0] > size[1], size
    finally:
        context.close()
