"""The JupyterLab 4 / Notebook 7 extension ships prebuilt, and its numbers are Python's.

* A real wheel of this repo, installed into a fresh venv with no node on ``PATH``, makes
  ``jupyter labextension list`` show ``mia-notebook`` enabled, OK and installed by the
  Python package (a prebuilt extension needs no build step).
* The TypeScript unit tests (``labextension/test``) run on a payload of a fresh audit,
  with Python's figures (``MIA_FIXTURE``), when the extension's node modules are present
  (``cd labextension && jlpm install``); CI fails instead of skipping.
* The committed notebook's saved outputs carry both views and no script; its saved
  comparison carries the comparison's JSON and no record.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_autoload import venv_dir  # noqa: F401  (the fixture)

from mia_notebook.engine.verdict import LEVELS
from mia_notebook.render.mime import MIME_TYPE
from mia_notebook.render.mime_compare import COMPARISON_MIME_TYPE

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "labextension"
BUILT = ROOT / "mia_notebook" / "labextension"


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


@pytest.mark.slow
def test_wheel_installs_the_prebuilt_extension_without_node(
    venv_dir: Path,  # noqa: F811  (the imported fixture)
    tmp_path: Path,
) -> None:
    env_dir = venv_dir  # a real wheel of this repo in a fresh venv (tests/test_autoload.py)
    py = env_dir / "bin" / "python"
    shared = env_dir / "share" / "jupyter" / "labextensions" / "mia-notebook"
    assert (shared / "package.json").is_file() and (shared / "install.json").is_file()
    assert list((shared / "static").glob("remoteEntry.*.js"))
    # No node on PATH; no JUPYTER_* variables pointing elsewhere. The venv's own Python
    # runs `jupyter labextension list` (python -m jupyterlab.labextensions), as the
    # `jupyter-labextension` script of a venv that installed jupyterlab itself would.
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(PATH=str(env_dir / "bin"), HOME=str(tmp_path), JUPYTER_PLATFORM_DIRS="1")
    assert shutil.which("node", path=env["PATH"]) is None
    out = subprocess.run(
        [str(py), "-m", "jupyterlab.labextensions", "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)
    section = listing.split(str(shared.parent), 1)
    assert len(section) == 2, listing
    line = next(ln for ln in section[1].splitlines() if "mia-notebook" in ln)
    assert re.search(r"mia-notebook v\S+ enabled\s+OK \(python, mia_notebook\)", line), listing


def _node_ready() -> str:
    jlpm = shutil.which("jlpm")
    if jlpm is None or shutil.which("node") is None:
        _fail_or_skip("node / jlpm are not available")
    if not (EXT / "node_modules" / "typescript").is_dir():
        _fail_or_skip("the extension's node modules are missing: cd labextension && jlpm install")
    return str(jlpm)


@pytest.mark.slow
def test_typescript_numbers_match_python_on_a_fresh_audit(tmp_path: Path) -> None:
    jlpm = _node_ready()
    spec = importlib.util.spec_from_file_location("make_fixture", EXT / "test" / "make_fixture.py")
    assert spec is not None and spec.loader is not None
    make_fixture = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_fixture)
    fixture = tmp_path / "fixture.json"
    make_fixture.main(fixture)
    out = subprocess.run(
        [jlpm, "test"],
        cwd=EXT,
        capture_output=True,
        text=True,
        env={**os.environ, "MIA_FIXTURE": str(fixture)},
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert re.search(r"^# pass [1-9]", out.stdout, re.M) and "# fail 0" in out.stdout


def test_committed_build_matches_the_sources_package() -> None:
    src = json.loads((EXT / "package.json").read_text())
    built = json.loads((BUILT / "package.json").read_text())
    assert built["name"] == src["name"] == "mia-notebook"
    assert built["version"] == src["version"]
    load = built["jupyterlab"]["_build"]["load"]
    assert (BUILT / load).is_file()
    assert "mimeExtension" in built["jupyterlab"]["_build"]


def test_shared_notebook_outputs_hold_both_views_and_no_script() -> None:
    nb = json.loads((ROOT / "notebooks" / "shared_report.ipynb").read_text())
    outputs = [o for c in nb["cells"] for o in c.get("outputs", []) if "data" in o]
    reports = [o["data"] for o in outputs if MIME_TYPE in o["data"]]
    assert len(reports) == 1
    assert "mia-report" in "".join(reports[0]["text/html"])
    text = json.dumps(outputs)
    assert "<script" not in text.lower() and "javascript:" not in text.lower()
    payload = reports[0][MIME_TYPE]
    assert payload["redacted"] == ["religious"]
    # Written by the current render/mime.py: the verdict and one claim per offered target.
    assert payload["verdict"]["level"] in LEVELS
    assert [c["fpr"] for c in payload["claims"]] == payload["fpr_choices"]
    assert any(c["claim"] for c in payload["claims"]), "the shared forest leaks somewhere"


def test_shared_notebook_comparison_holds_both_views_and_no_record() -> None:
    nb = json.loads((ROOT / "notebooks" / "shared_report.ipynb").read_text())
    outputs = [o["data"] for c in nb["cells"] for o in c.get("outputs", []) if "data" in o]
    found = [d for d in outputs if COMPARISON_MIME_TYPE in d]
    assert len(found) == 1 and MIME_TYPE not in found[0]
    assert "mia-compare" in "".join(found[0]["text/html"])
    payload = found[0][COMPARISON_MIME_TYPE]
    # Written by the current render/mime_compare.py: each model's report payload inside.
    assert payload["version"] == 1 and payload["kind"] == "comparison"
    assert [m["name"] for m in payload["models"]] == ["forest", "logistic regression"]
    assert payload["fpr"] in payload["fpr_choices"]
    for m in payload["models"]:
        assert m["level"] in LEVELS and m["report"]["flagged"]["rows"] == []
        assert len(m["intervals"]) == len(m["report"]["claims"]) == len(payload["fpr_choices"])
    forest, logreg = payload["models"]
    assert any(c["claim"] for c in forest["report"]["claims"]), "the shared forest leaks"
    assert logreg["level"] == "none" and not any(c["claim"] for c in logreg["report"]["claims"])
