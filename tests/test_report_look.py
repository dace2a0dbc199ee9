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


@pytest.fixture(scope="module")
def chance_report() -> mn.AuditReport:
    """A logistic regression fitted on rows disjoint from both audited sets."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    X, y = make_classification(n_samples=3000, n_features=8, flip_y=0.1, random_state=1)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(label=y)
    fit, train, test = df.iloc[:1000], df.iloc[1000:2000], df.iloc[2000:]
    model = LogisticRegression().fit(fit.drop(columns="label"), fit["label"])
    return mn.audit(model, train=train, test=test, target="label", progress=False)


def _first_line(pg: object) -> str:
    return str(pg.locator("div.mia-report > p").first.inner_text())  # type: ignore[attr-defined]


@pytest.mark.browser
@pytest.mark.parametrize("case", ["none", "leak"])
def test_verdict_screenshots(
    page: Page,  # noqa: F811
    look_report: mn.AuditReport,
    chance_report: mn.AuditReport,
    case: str,
    tmp_path: Path,
) -> None:
    """``report-verdict-none.png`` (at chance) and ``report-verdict-leak.png`` (a leak):
    the verdict is the first line; at chance no row is marked and no record listed."""
    report = chance_report if case == "none" else look_report
    assert (report.verdict.level == "none") == (case == "none")
    path = tmp_path / "report.html"
    report.to_html(path)
    pg = page.open(path)
    page.screenshot(f"report-verdict-{case}")
    assert _first_line(pg) == str(report.verdict)
    color = pg.locator("p.mia-verdict").evaluate("e => getComputedStyle(e).backgroundColor")
    assert color not in ("rgba(0, 0, 0, 0)", "transparent")
    marked = pg.locator("tr.mia-risk-high").count()
    text = pg.locator("div.mia-report").inner_text()
    if case == "none":
        assert marked == 0 and "No records listed" in text
    else:
        assert marked == 1 and "Most exposed members (5 of the" in text
