"""Every notebook in notebooks/ executes top to bottom in a real kernel."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
#: Notebooks that need an optional extra (in the `test` extra, so CI runs them).
NEEDS = {"deep_learning": ("keras", "jax")}


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, tmp_path: Path) -> None:
    for module in NEEDS.get(path.stem, ()):  # the optional extra it needs ([deep])
        if importlib.util.find_spec(module) is None:  # (importing keras needs its backend set)
            pytest.skip(f"{path.name} needs {module}: pip install -e '.[deep]'")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    htmls = [
        o["data"]["text/html"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    reports = [h for h in htmls if "mia-report" in h]
    assert reports, "the notebook shows no audit report"
    assert all("data:image/png;base64," in h for h in reports)
    # every report (or comparison of models) opens with its verdict
    verdict = re.compile(
        r"<p class='mia-verdict[^>]*>(Privacy risk: (none|low|elevated|high)\. "
        r"|Riskiest: .+ \((low|elevated|high)\)\. Risk levels: "
        r"|No model shows a membership-inference risk beyond chance)"
    )
    assert all(verdict.match(h.split("</style>", 1)[1]) for h in reports)
