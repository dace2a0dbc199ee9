"""Sharing audited notebooks, end to end: static HTML in a real browser, redaction,
escaping of user data, and reproducibility.

Browser tests execute notebooks with a real kernel, convert them with nbconvert, and open
the HTML in headless Chromium (Debian's ``chromium``, driven by Python Playwright with
``executable_path``; no browser download). Screenshots are written to
``test-artifacts/screenshots/`` at the repository root. Without Chromium the browser tests
are skipped, except under CI (``CI`` set), where they fail (the ``browser`` marker,
tests/conftest.py).
"""

from __future__ import annotations

import inspect
import json
import math
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from _jupyter_server import jupyter_server
from conftest import CHROMIUM_FLAGS
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mia_notebook as mn
from mia_notebook.engine.results import REDACTED
from mia_notebook.render.mime import MIME_TYPE

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _saved_html(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return [
        o["data"]["text/html"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]


#: Notebooks that display single audits (AuditReport) / comparisons (ComparisonReport).
AUDIT_NOTEBOOKS = [
    p
    for p in NOTEBOOKS
    if any("mia-report" in h and "mia-compare" not in h for h in _saved_html(p))
]
COMPARE_NOTEBOOKS = [p for p in NOTEBOOKS if any("mia-compare" in h for h in _saved_html(p))]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"

#: User data that tries to run code. Each sets a marker global and opens a dialog.
XSS = [
    "<script>window.__mia_pwned='script';alert(1)</script>",
    "<img src=x onerror=\"window.__mia_pwned='img';alert(2)\">",
    "<svg onload=\"window.__mia_pwned='svg';alert(3)\"></svg>",
    '\'><iframe src="javascript:alert(4)"></iframe>',
]
XSS_COLUMN = "<b onmouseover=alert(5)>note</b>"
_TEMPLATE_ASSET = re.compile(r"mathjax|require\.?js|jquery|html-manager|widget", re.I)


# ------------------------------------------------------------------ browser fixtures
@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield b
        b.close()


class Page:
    """A page that records dialogs, failed/external requests and console errors."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.external: list[str] = []
        self.page.on("dialog", self._on_dialog)
        self.context.route("**/*", self._route)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:  # nothing may be fetched from the network
            self.external.append(url)
            route.abort()

    def unexpected_requests(self) -> list[str]:
        """Network requests other than nbconvert's own page assets (MathJax, RequireJS),
        which are blocked here: the reports must render without any of them."""
        return [u for u in self.external if not _TEMPLATE_ASSET.search(u)]

    def open(self, path: Path) -> Any:
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.wait_for_timeout(300)  # let any (unexpected) handler fire
        return self.page

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        out = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(out), full_page=True)
        assert out.stat().st_size > 10_000
        return out

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    p = Page(browser)
    yield p
    p.close()


# ------------------------------------------------------------------ notebook helpers
#: Appended to an executed notebook: dumps the summary of every report the notebook
#: displayed as a cell result, in display order. Removed before conversion to HTML.
DUMP = """
import json as _json, math as _math
from mia_notebook import AuditReport as _AR
def _clean(v):
    return None if isinstance(v, float) and _math.isnan(v) else v
print("MIA-DUMP" + _json.dumps([
    {"strongest": r.strongest, "flag": r.options.flag, "redact": list(r.options.redact),
     "summary": {a: {k: _clean(v) for k, v in row.items()}
                 for a, row in r.summary.drop(columns=["notes"]).iterrows()}}
    for _, r in sorted(Out.items()) if isinstance(r, _AR)
], default=float))
"""


def execute(nb: nbformat.NotebookNode, cwd: Path) -> list[dict[str, Any]]:
    """Run ``nb`` in a fresh python3 kernel; return the dumped report summaries."""
    nb.cells.append(nbformat.v4.new_code_cell(DUMP))
    NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    dump = nb.cells.pop()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, errors[0].get("evalue")
    text = "".join(o.get("text", "") for o in dump.outputs if o.get("output_type") == "stream")
    return json.loads(text.split("MIA-DUMP", 1)[1])


def to_html(nb: nbformat.NotebookNode, path: Path) -> Path:
    body, _ = HTMLExporter().from_notebook_node(nb)
    path.write_text(body, encoding="utf-8")
    return path


def risk_tables(pg: Any) -> list[dict[str, dict[str, str]]]:
    """The text of each single report's risk table (comparisons left out): {attack name:
    {column header: cell text}}.

    A row names every attack of a rank-equivalent group (``Title [name]`` each); each
    of them maps to that row's cells."""
    return pg.evaluate("""() => [...document.querySelectorAll(
            'div.mia-report:not(.mia-compare)')].map(div => {
        const t = div.querySelector('table.mia-table');
        const heads = [...t.querySelectorAll('thead th')].map(th => th.innerText.trim());
        const out = {};
        for (const tr of t.querySelectorAll('tbody tr')) {
            const cells = [...tr.querySelectorAll('td')].map(td => td.innerText.trim());
            const names = [...cells[0].matchAll(/\\[([^\\]]+)\\]/g)].map(m => m[1]);
            const row = {};
            heads.forEach((h, i) => { if (i > 0) row[h] = cells[i]; });
            for (const name of (names.length ? names : [cells[0]])) out[name] = row;
        }
        return out;
    })""")


def _cell_matches(text: str, value: float | None) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return text.startswith(("n/a", "–"))
    return text.split(" ")[0] == f"{value:.3f}"


def assert_tables_match(
    tables: list[dict[str, dict[str, str]]], reports: list[dict[str, Any]]
) -> int:
    """Every AUC, TPR and epsilon cell shows the number the report computed."""
    assert len(tables) == len(reports), (len(tables), len(reports))
    checked = 0
    for table, rep in zip(tables, reports, strict=True):
        assert set(table) == set(rep["summary"])
        for attack, row in rep["summary"].items():
            cells = table[attack]
            eps_head = next(h for h in cells if h.startswith(("ε lower bound", "ε ≥")))
            pairs = [("AUC", row["AUC"]), (eps_head, row["epsilon_lb"])]
            pairs += [(k, v) for k, v in row.items() if k.startswith("TPR@")]
            for head, value in pairs:
                assert _cell_matches(cells[head], value), (attack, head, cells[head], value)
                checked += 1
    return checked


def assert_rocs_loaded(pg: Any, expected: int, within: str = "div.mia-report") -> None:
    """``expected`` loaded, visible figures inside the ``within`` elements."""
    sizes = pg.evaluate(
        """within => [...document.querySelectorAll(within + ' img.mia-roc')]
        .map(i => [i.complete, i.naturalWidth, i.naturalHeight,
                   i.getBoundingClientRect().width, i.getBoundingClientRect().height])""",
        within,
    )
    assert len(sizes) == expected
    for complete, nw, nh, w, h in sizes:
        assert complete and nw > 100 and nh > 100 and w > 100 and h > 100, sizes


# ------------------------------------------------------------------ example notebooks
@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("path", AUDIT_NOTEBOOKS, ids=[p.stem for p in AUDIT_NOTEBOOKS])
def test_example_notebook_renders_in_browser(path: Path, page: Page, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    reports = execute(nb, path.parent)
    assert reports, "the notebook displays no AuditReport"
    html = to_html(nb, tmp_path / f"{path.stem}.html")
    pg = page.open(html)
    page.screenshot(f"notebook-{path.stem}")
    assert not page.unexpected_requests(), page.external
    assert not page.dialogs
    assert "<script" not in "".join(
        o.get("data", {}).get("text/html", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    ), "report HTML must need no JavaScript"
    # single reports' ROC (a notebook may also hold comparisons: their figures are checked
    # by test_comparison_notebook_renders_in_browser)
    assert_rocs_loaded(pg, len(reports), "div.mia-report:not(.mia-compare)")
    assert assert_tables_match(risk_tables(pg), reports) >= 5 * len(reports)
    flagged = pg.locator("div.mia-report h4", has_text="Most exposed members")
    assert flagged.count() == sum(r["flag"] > 0 for r in reports)
    # the provenance footer is collapsed until opened
    details = pg.locator("div.mia-report details").first
    assert details.evaluate("d => d.open") is False
    assert not pg.locator("div.mia-report details h4", has_text="Versions").first.is_visible()


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("path", COMPARE_NOTEBOOKS, ids=[p.stem for p in COMPARE_NOTEBOOKS])
def test_comparison_notebook_renders_in_browser(path: Path, page: Page, tmp_path: Path) -> None:
    """A notebook that compares models: executed, converted by nbconvert, its comparison
    opens with the verdict line and shows both figures (ROC overlay, privacy-utility)."""
    nb = nbformat.read(path, as_version=4)
    execute(nb, path.parent)  # no error in any cell
    pg = page.open(to_html(nb, tmp_path / f"{path.stem}.html"))
    page.screenshot(f"notebook-{path.stem}")
    assert not page.unexpected_requests(), page.external
    assert not page.dialogs
    comparisons = pg.locator("div.mia-compare")
    assert comparisons.count() >= 1
    assert_rocs_loaded(pg, 2 * comparisons.count(), "div.mia-compare")
    verdict = comparisons.first.locator("p.mia-verdict").inner_text()
    assert verdict.startswith(("Riskiest: ", "No model shows")), verdict


# ------------------------------------------------------------------ hostile user data
def _hostile_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    df = X.iloc[:, :6].assign(label=y)
    n = len(df)
    df["name"] = [XSS[i % len(XSS)] for i in range(n)]
    df[XSS_COLUMN] = [XSS[(i + 1) % len(XSS)] for i in range(n)]
    df["ssn"] = [f"999-{i:04d}" for i in range(n)]
    df.index = [f"<i>row{i}</i>" for i in range(n)]
    return df.iloc[::2].copy(), df.iloc[1::2].copy()


HOSTILE_SETUP = f"""
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
XSS = {XSS!r}
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
df = X.iloc[:, :6].assign(label=y)
df["name"] = [XSS[i % len(XSS)] for i in range(len(df))]
df[{XSS_COLUMN!r}] = [XSS[(i + 1) % len(XSS)] for i in range(len(df))]
df["ssn"] = [f"999-{{i:04d}}" for i in range(len(df))]
df.index = [f"<i>row{{i}}</i>" for i in range(len(df))]
train_df, test_df = df.iloc[::2].copy(), df.iloc[1::2].copy()
# A leaky forest: the verdict is above 'none', so the slices by `name` (hostile labels) show.
clf = RandomForestClassifier(n_estimators=30, max_features=1, random_state=0, n_jobs=1)
clf.fit(train_df.iloc[:, :6], train_df["label"])
"""


def _attacks() -> str:
    return ",".join(a for a in ("loss", "confidence", "gap") if a in mn.available_attacks())


def _assert_safe(page: Page, pg: Any, name: str) -> str:
    page.screenshot(name)
    assert not page.dialogs, f"a dialog opened: {page.dialogs}"
    assert pg.evaluate("() => window.__mia_pwned") is None, "injected script ran"
    assert not page.unexpected_requests(), page.external
    assert pg.locator("div.mia-report iframe, div.mia-report svg").count() == 0
    text = "\n".join(pg.locator("div.mia-report").all_inner_texts())
    assert XSS[0] in text, "user text must show as text"
    assert "999-" not in text, "redacted values leaked"
    return text


@pytest.mark.slow
@pytest.mark.browser
def test_hostile_data_in_notebook_html(page: Page, tmp_path: Path) -> None:
    """Scripts in user data never run; redaction holds; --flag 0 lists no records."""
    att = _attacks()
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        }
    )
    nb.cells = [
        nbformat.v4.new_code_cell(c)
        for c in [
            HOSTILE_SETUP,
            "%load_ext mia_notebook",
            f"%mia_audit clf --train train_df --test test_df --target label --attacks {att} "
            "--slice name --redact ssn --flag 6",
            "%config MiaAudit.redact = ['ssn']",  # the %config default list
            f"%mia_audit clf --train train_df --test test_df --target label --attacks {att} "
            "--flag 4",
            f"%mia_audit clf --train train_df --test test_df --target label --attacks {att} "
            "--flag 0",
        ]
    ]
    reports = execute(nb, tmp_path)
    assert [r["redact"] for r in reports] == [["ssn"]] * 3
    raw = json.dumps(nb.cells[2:], default=str)  # every output format of the audits
    assert "999-" not in raw
    # The extension's JSON and the text/plain view hold user markup as data (the slice
    # tables' group labels: shown as text, tested in test_labextension_e2e; text/plain is
    # never parsed as markup); every format a browser renders as markup must be clean.
    views = [
        {k: v for k, v in o.get("data", {}).items() if k not in (MIME_TYPE, "text/plain")}
        for c in nb.cells[2:]
        for o in c.outputs
    ]
    assert "<script>window" not in json.dumps(views, default=str)
    html = to_html(nb, tmp_path / "hostile.html")
    pg = page.open(html)
    _assert_safe(page, pg, "hostile-notebook")
    assert_rocs_loaded(pg, 3)
    assert_tables_match(risk_tables(pg), reports)
    footers = pg.locator("div.mia-report p.mia-note", has_text="Redacted columns")
    assert footers.count() == 3
    assert f"values masked as {REDACTED}): ssn" in footers.first.inner_text()
    # flagged records: 6, then 4, then none at all for --flag 0
    heads = pg.locator("div.mia-report h4", has_text="Most exposed members")
    assert heads.count() == 2
    last = pg.locator("div.mia-report").nth(2)
    assert last.locator("h4", has_text="Most exposed members").count() == 0
    assert "No records listed" in last.inner_text()


@pytest.mark.browser
def test_hostile_data_in_standalone_page(page: Page, tmp_path: Path) -> None:
    tr, te = _hostile_frames()
    clf = RandomForestClassifier(n_estimators=30, max_features=1, random_state=0, n_jobs=1)
    clf.fit(tr.iloc[:, :6], tr["label"])
    # Judged at 50% FPR, where this leaky forest singles members out: rows are listed.
    policy = {"fpr": [0.5], "tpr_elevated": 0.6, "tpr_high": 0.8}
    report = mn.audit(
        clf,
        train=tr,
        test=te,
        target="label",
        attacks=_attacks(),
        slice="name",
        redact=["ssn"],
        flag=6,
        policy=policy,
    )
    assert len(report.flagged()) == 6
    path = tmp_path / "audit.html"
    report.to_html(path)
    source = path.read_text(encoding="utf-8")
    assert source.startswith("<!DOCTYPE html>") and "999-" not in source
    for other_format in (report.to_json(), repr(report), report._repr_mimebundle_()):
        assert "999-" not in str(other_format)
    pg = page.open(path)
    _assert_safe(page, pg, "standalone-page")
    assert_rocs_loaded(pg, 1)
    summary = report.summary.drop(columns=["notes"])
    assert_tables_match(risk_tables(pg), [{"summary": summary.to_dict(orient="index")}])
    # the page holds the settings, versions and fingerprints a reader needs
    pg.locator("div.mia-report details summary", has_text="Settings").click()
    text = pg.inner_text("body")
    for needle in [
        "Settings",
        "Versions",
        "Fingerprints",
        "scikit-learn",
        "numpy",
        "python",
        report.fingerprints["model"],
        report.fingerprints["train"],
    ]:
        assert needle in text, needle
    # flagged records show values of unredacted columns only
    flagged = report.flagged()
    assert (flagged["ssn"] == REDACTED).all()
    assert XSS_COLUMN in text  # a hostile column name shows as text, too


# ------------------------------------------------------------------ reproducibility
def _repro_kwargs() -> dict[str, Any]:
    names = [a for a in ("loss", "lira", "rmia") if a in mn.available_attacks()]
    kwargs: dict[str, Any] = {"attacks": names, "seed": 3, "fpr": (0.01, 0.1)}
    params = inspect.signature(mn.audit).parameters
    if "references" in params and len(names) > 1:
        kwargs["references"] = 4
    for opt, value in (("n_jobs", 1), ("progress", False)):
        if opt in params:
            kwargs[opt] = value
    return kwargs


def test_same_seed_and_data_give_identical_numbers(cancer_splits) -> None:
    tr, te = cancer_splits
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=100, max_iter=1000))
    clf.fit(tr.drop(columns="label"), tr["label"])
    kwargs = _repro_kwargs()
    runs = []
    for _ in range(2):
        mn.clear_cache()  # recompute everything, reference models included
        runs.append(mn.audit(clf, train=tr.copy(), test=te.copy(), target="label", **kwargs))
    a, b = runs
    pd.testing.assert_frame_equal(a.scores, b.scores, check_exact=True)
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    assert a.fingerprints == b.fingerprints
    da, db = a.to_dict(), b.to_dict()
    for d in (da, db):
        d.pop("timings")
        d["settings"].pop("references_cached", None)
        d["settings"].pop("references_trained", None)
    assert json.dumps(da, default=str) == json.dumps(db, default=str)


def test_report_carries_settings_versions_fingerprints_timings(cancer_splits) -> None:
    tr, te = cancer_splits
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(tr.drop(columns="label"), tr["label"])
    kwargs = _repro_kwargs()
    report = mn.audit(clf, train=tr, test=te, target="label", **kwargs)
    d = report.to_dict()
    settings = d["settings"]
    assert settings["seed"] == 3 and settings["fpr"] == [0.01, 0.1]
    assert settings["attacks"] == kwargs["attacks"]
    if "references" in kwargs:
        assert settings["references"] == 4
    import platform

    import sklearn

    assert d["versions"]["mia_notebook"] == mn.__version__
    assert d["versions"]["scikit-learn"] == sklearn.__version__
    assert d["versions"]["numpy"] == np.__version__
    assert d["versions"]["python"] == platform.python_version()
    assert {"model", "train", "test"} <= set(d["fingerprints"])
    assert all(re.fullmatch(r"[0-9a-f]{8,}", v) for v in d["fingerprints"].values())
    assert d["timings"]["total_s"] > 0
    # the fingerprints follow the data and the model's parameters
    other = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000))
    other.fit(tr.drop(columns="label"), tr["label"])
    r2 = mn.audit(other, train=tr, test=te.iloc[1:], target="label", **kwargs)
    assert r2.fingerprints["model"] != report.fingerprints["model"]
    assert r2.fingerprints["test"] != report.fingerprints["test"]
    assert r2.fingerprints["train"] == report.fingerprints["train"]
    # ...and everything is in the collapsed footer of the HTML
    html = report._repr_mimebundle_()["text/html"]
    footer = html[html.index("<details>") :]
    assert "<details open" not in html
    for value in [*d["versions"].values(), *d["fingerprints"].values(), "seed"]:
        assert str(value) in footer, value


# ------------------------------------------------------------------ JupyterLab, saved outputs
def _stored_reports(path: Path) -> list[dict[str, str]]:
    """AUC text per attack of each report stored in a committed notebook (its text/plain)."""
    nb = nbformat.read(path, as_version=4)
    out = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            data = o.get("data", {})
            html = data.get("text/html", "")
            if "mia-report" not in html or "mia-compare" in html:
                continue
            lines = data["text/plain"].splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith("attack"))
            rows = {}
            for line in lines[start + 1 :]:
                # "loss = confidence 0.727 ...": attacks that rank alike share one row
                m = re.match(r"(\S.*?)\s+(-?\d+\.\d{3}|nan)\s", line)
                if m is None:
                    break
                rows.update(dict.fromkeys(m.group(1).split(" = "), m.group(2)))
            out.append(rows)
    return out


def _lab(root: Path, *, extension: bool) -> Any:
    """JupyterLab serving copies of the committed notebooks, with a fresh trust store (so
    they open untrusted, as for any reader who downloads them); without this package's
    extension (disabled in a fresh config dir) when ``extension`` is False."""
    nbdir = root / "notebooks"
    nbdir.mkdir()
    (root / "trust").mkdir()
    for p in NOTEBOOKS:
        shutil.copy(p, nbdir / p.name)
    news = root / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    tracker = root / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)  # render every cell, not only those in view
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    env = {}
    if not extension:
        labconfig = root / "config" / "labconfig"
        labconfig.mkdir(parents=True)
        (labconfig / "page_config.json").write_text(
            '{"disabledExtensions": {"mia-notebook": true}}'
        )
        env["JUPYTER_CONFIG_DIR"] = str(root / "config")
    args = [f"--NotebookNotary.data_dir={root / 'trust'}"]
    return jupyter_server(root, nbdir, args=args, env=env, timeout=120)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[dict[str, Any]]:
    """JupyterLab as installed (the extension draws the saved reports' JSON)."""
    with _lab(tmp_path_factory.mktemp("lab"), extension=True) as server:
        yield {"base": server.base, "token": server.token}


@pytest.fixture(scope="module")
def static_lab(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[dict[str, Any]]:
    """JupyterLab without this package's extension: the saved static HTML shows."""
    with _lab(tmp_path_factory.mktemp("static-lab"), extension=False) as server:
        yield {"base": server.base, "token": server.token}


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.parametrize("path", AUDIT_NOTEBOOKS, ids=[p.stem for p in AUDIT_NOTEBOOKS])
def test_committed_notebook_shows_reports_in_jupyterlab(
    path: Path, lab: dict[str, Any], browser: Any
) -> None:
    """The committed outputs alone (nothing is executed) show every report in JupyterLab:
    risk table with the stored numbers, the ROC image, the collapsed footer."""
    stored = _stored_reports(path)
    assert stored, f"{path.name} is committed without its audit outputs"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(f"{lab['base']}/lab/tree/{path.name}?token={lab['token']}&reset")
        shown = pg.locator(
            ".jp-OutputArea-output div.mia-report, .jp-OutputArea-output [data-mia-report]"
        )
        try:
            shown.first.wait_for(state="attached")
        except Exception:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(SCREENSHOTS / f"jupyterlab-failure-{path.stem}.png"))
            raise
        interactive = pg.locator(".jp-OutputArea-output [data-mia-report]")
        if interactive.count():  # the installed extension draws the saved JSON
            assert interactive.count() == len(stored)
            for element, rows in zip(interactive.all(), stored, strict=True):
                text = element.inner_text()
                assert all(name in text and auc in text for name, auc in rows.items())
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            pg.screenshot(path=str(SCREENSHOTS / f"jupyterlab-saved-{path.stem}.png"))
            return
        reports = pg.locator(".jp-OutputArea-output div.mia-report")
        pg.wait_for_function(
            "n => document.querySelectorAll('.jp-OutputArea-output img.mia-roc').length >= n"
            " && [...document.querySelectorAll('.jp-OutputArea-output img.mia-roc')]"
            ".every(i => i.complete)",
            arg=len(stored),
        )
        reports.first.scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(SCREENSHOTS / f"jupyterlab-saved-{path.stem}.png"))
        assert reports.count() == len(stored)
        assert_rocs_loaded(pg.locator(".jp-OutputArea-output").first.page, len(stored))
        for table, rows in zip(risk_tables(pg), stored, strict=True):
            assert {k: v["AUC"] for k, v in table.items()} == rows
        assert pg.locator("div.mia-report details").first.evaluate("d => d.open") is False
    finally:
        context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_report_styling_survives_untrusted_jupyterlab(
    static_lab: dict[str, Any], browser: Any
) -> None:
    """Cell borders and the highlighted strongest-attack row of the static report, in an
    untrusted notebook in JupyterLab without the extension (with it, the interactive
    report shows instead: tests/test_labextension_e2e.py)."""
    name = NOTEBOOKS[0].name
    lab = static_lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(f"{lab['base']}/lab/tree/{name}?token={lab['token']}&reset")
        table = pg.locator(".jp-OutputArea-output div.mia-report table.mia-table").first
        table.wait_for(state="attached")
        border = table.locator("td").first.evaluate("td => getComputedStyle(td).borderTopStyle")
        strongest = table.locator("tr.mia-risk-high").first.evaluate(
            "tr => getComputedStyle(tr).backgroundColor"
        )
        assert border == "solid"
        assert strongest not in ("rgba(0, 0, 0, 0)", "transparent")
    finally:
        context.close()
