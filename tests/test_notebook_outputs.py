"""The committed notebooks' saved reports carry the payload the extension draws today.

A notebook opened in JupyterLab or Notebook 7 without a kernel shows its saved outputs:
a report saved before the current payload (type, version, fields) shows as static HTML
only, or interactively without what the payload gained since. Every output of
``notebooks/*.ipynb`` that shows a report (or a comparison of models) must hold the
current JSON beside its HTML, with the fields a fresh report's JSON has. When this fails,
re-execute the notebooks: ``python notebooks/refresh.py`` (one command, all of them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.render import render_bundle
from mia_notebook.render.compare import render_comparison_bundle
from mia_notebook.render.mime import MIME_TYPE, VERSION
from mia_notebook.render.mime_compare import COMPARISON_MIME_TYPE

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
FIX = "re-execute the notebooks: python notebooks/refresh.py"


def _shape(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload's fields and those of its nested records (an attack and its curve,
    the flagged records, the verdict), with the curve's value types (its encoding)."""
    attack = next((a for a in payload["attacks"] if a["curve"]), None)
    return {
        "top": sorted(payload),
        "attack": sorted(attack) if attack else None,
        "curve": {k: type(v).__name__ for k, v in attack["curve"].items()} if attack else None,
        "flagged": sorted(payload["flagged"]),
        "verdict": sorted(payload["verdict"]),
    }


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    """The shapes of a fresh report's and a fresh comparison's JSON."""
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    df = pd.DataFrame(x.iloc[:, :4]).assign(label=y)
    train, test = df.iloc[::2], df.iloc[1::2]
    feats = list(df.columns[:4])
    model = LogisticRegression(max_iter=2000).fit(train[feats], train["label"])
    kw: dict[str, Any] = {"train": train, "test": test, "target": "label", "attacks": ["loss"]}
    report = mn.audit(model, **kw)
    cmp = mn.compare({"a": model, "b": (model, "label")}, **{**kw, "attacks": ["gap"]})
    comparison = render_comparison_bundle(cmp)[COMPARISON_MIME_TYPE]
    return {
        "report": _shape(render_bundle(report)[MIME_TYPE]),
        "comparison": sorted(comparison),
        "model": sorted(comparison["models"][0]),
        "version": comparison["version"],
    }


def _reports(path: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """(cell number, kind, output data) of every output that shows a report."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            html = "".join(out.get("data", {}).get("text/html", ""))
            if "class='mia-report mia-compare'" in html:
                found.append((i, "comparison", out["data"]))
            elif "class='mia-report'" in html:
                found.append((i, "report", out["data"]))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_saved_reports_carry_the_current_payload(path: Path, current: dict[str, Any]) -> None:
    reports = _reports(path)
    assert reports, f"{path.name} shows no report"
    for cell, kind, data in reports:
        where = f"{path.name}, cell {cell}: the saved {kind}"
        if kind == "report":
            assert MIME_TYPE in data, f"{where} has no {MIME_TYPE}; {FIX}"
            payload = data[MIME_TYPE]
            assert payload.get("version") == VERSION, (
                f"{where} is payload v{payload.get('version')}, not v{VERSION}; {FIX}"
            )
            assert _shape(payload) == current["report"], f"{where} has other fields; {FIX}"
            continue
        assert COMPARISON_MIME_TYPE in data, f"{where} has no {COMPARISON_MIME_TYPE}; {FIX}"
        payload = data[COMPARISON_MIME_TYPE]
        assert payload.get("version") == current["version"], f"{where}: old version; {FIX}"
        assert sorted(payload) == current["comparison"], f"{where} has other fields; {FIX}"
        for m in payload["models"]:
            assert sorted(m) == current["model"], f"{where} has other fields; {FIX}"
            assert m["report"].get("version") == VERSION, f"{where}: old report payloads; {FIX}"
            assert _shape(m["report"]) == current["report"], f"{where}: other fields; {FIX}"
