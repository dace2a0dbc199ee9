"""End to end: the audit panel in a real JupyterLab, driven by headless Chromium.

Starts ``jupyter lab`` on a free localhost port with a random token, opens a test
notebook in Debian's ``chromium`` through Python Playwright (never ``playwright
install``), runs every cell, moves the FPR-target slider and checks that the table's
numbers change in the page, that the ROC is an inline PNG, and that the saved notebook's
static fallback shows the new view. Screenshots go to ``test-artifacts/screenshots/``.
Without chromium (or Playwright) the test is skipped locally and fails when ``CI`` is set
(the ``browser`` marker, tests/conftest.py).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _jupyter_server import SHOTS, jupyter_server, run_all_cells, shot
from conftest import CHROMIUM_FLAGS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
TABLE = ".mia-audit-panel .mia-report table.mia-table"
SETUP = """\
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

import mia_notebook as mn
from mia_notebook.panel import show_panel

X, y = make_classification(n_samples=2400, n_features=8, n_informative=5, flip_y=0.2,
                           random_state=0)
df = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(
    label=y, group=np.arange(len(y)) % 3)
train_df, test_df = df.iloc[:1200], df.iloc[1200:]
clf = RandomForestClassifier(n_estimators=25, max_depth=8, random_state=0).fit(
    train_df[[f"x{i}" for i in range(8)]], train_df["label"])
"""
PANEL = """\
report = mn.audit(clf, train=train_df, test=test_df, target="label",
                  attacks=["loss", "confidence", "entropy"])
panel = show_panel(report, model=clf, train=train_df, test=test_df)
"""


def _notebook() -> dict[str, Any]:
    def cell(source: str) -> dict[str, Any]:
        return {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": source,
        }

    return {
        "cells": [cell(SETUP), cell(PANEL)],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("lab")
    nbdir = root / "notebooks"
    nbdir.mkdir()
    (nbdir / "panel.ipynb").write_text(json.dumps(_notebook(), indent=1))
    # No "official Jupyter news?" toast over the screenshots.
    news = root / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    # Frontends without the JupyterLab extension use the panel's kernel-side controls:
    # this test runs Lab with mia-notebook's extension disabled (test_labextension_e2e.py
    # covers the panel with it).
    labconfig = root / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"mia-notebook": True}})
    )
    env = {"MPLBACKEND": "Agg", "JUPYTER_CONFIG_PATH": str(root / "config")}
    args = ["--LabApp.expose_app_in_browser=True"]
    with jupyter_server(root, nbdir, args=args, env=env) as server:
        yield {
            "base": server.base,
            "token": server.token,
            "nbdir": nbdir,
            "chromium": chromium,
            "root": root,
            "log": server.log,
        }


def _tpr_cells(page: Any) -> list[str]:
    """Header and cells of the panel's risk-by-attack table, as shown in the page."""
    return page.eval_on_selector(
        TABLE, "t => Array.from(t.querySelectorAll('th, td')).map(c => c.innerText.trim())"
    )


def _saved_html(path: Path) -> str:
    nb = json.loads(path.read_text())
    outs = [o for c in nb["cells"] for o in c.get("outputs", [])]
    return "".join("".join(o.get("data", {}).get("text/html", "")) for o in outs if "data" in o)


def test_panel_in_jupyterlab(lab: dict[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(lab["root"] / "chromium-profile"),
            executable_path=lab["chromium"],
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1100},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(120_000)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            _drive(page, lab)
        except Exception:
            if "page" in locals():
                shot(page, "jupyterlab-failure")
            log = lab["log"].read_text(errors="replace")[-4000:]
            print(f"--- jupyter lab log (tail) ---\n{log}")
            raise
        finally:
            context.close()


def _drive(page: Any, lab: dict[str, Any]) -> None:
    run_all_cells(page, f"{lab['base']}/lab/tree/panel.ipynb?token={lab['token']}&reset")
    page.wait_for_selector(TABLE, timeout=300_000)
    roc = page.wait_for_selector(
        ".mia-audit-panel img.mia-roc[src^='data:image/png;base64,']", timeout=60_000
    )
    assert roc is not None and roc.evaluate("img => img.naturalWidth") > 100
    before = _tpr_cells(page)
    slider = page.locator(".mia-audit-panel .widget-slider", has_text="FPR target").first
    readout_before = slider.locator(".widget-readout").inner_text()
    assert "TPR@" + readout_before + "FPR" in " ".join(before), (readout_before, before)
    slider.scroll_into_view_if_needed()
    shot(page, "jupyterlab-panel-before")

    # Move the FPR target: click near the right end of the slider's track.
    track = slider.locator(".noUi-target").first
    box = track.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)

    page.wait_for_function(
        """([sel, before]) => {
            const t = document.querySelector(sel);
            if (!t) return false;
            const now = Array.from(t.querySelectorAll('th, td')).map(c => c.innerText.trim());
            return JSON.stringify(now) !== JSON.stringify(before);
        }""",
        arg=[TABLE, before],
        timeout=120_000,
    )
    after = _tpr_cells(page)
    slider = page.locator(".mia-audit-panel .widget-slider", has_text="FPR target").first
    readout = slider.locator(".widget-readout").inner_text()
    assert readout != readout_before
    column = "TPR@" + readout + "FPR"
    assert column in after, (column, after)
    # the numbers changed, not only the header: TPR cells differ
    numbers = [c for c in before if re.fullmatch(r"[0-9.,]+", c)]
    numbers_after = [c for c in after if re.fullmatch(r"[0-9.,]+", c)]
    assert numbers != numbers_after, (before, after)
    assert page.locator(".mia-audit-panel img.mia-roc[src^='data:image/png;base64,']").count()
    assert not page.locator(".mia-audit-panel .mia-error").count()
    slider.scroll_into_view_if_needed()
    shot(page, "jupyterlab-panel-after")
    page.locator(".mia-audit-panel img.mia-roc").first.screenshot(
        path=str(SHOTS / "jupyterlab-panel-roc-after.png")
    )

    # The saved notebook's static fallback shows the view the user looked at last.
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    path = lab["nbdir"] / "panel.ipynb"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and column not in _saved_html(path):
        time.sleep(0.5)
    saved = _saved_html(path)
    assert column in saved and "data:image/png;base64," in saved
