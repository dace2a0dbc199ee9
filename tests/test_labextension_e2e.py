"""End to end: the committed shared notebook in a real JupyterLab 4, no cell run.

Starts ``jupyter lab`` (as root, localhost, random token) with the prebuilt extension
(``mia_notebook/labextension``) on its extension path, opens
``notebooks/shared_report.ipynb`` twice (untrusted as committed, and trusted with
``jupyter trust``) in Debian's headless Chromium through Playwright, and checks that
the interactive report renders from the saved output alone: the FPR control changes the
TPR column to Python's figures, attacks hide, the flagged table sorts, the ROC answers
hover, no script is in the output and the console shows no error. Screenshots go to
``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _jupyter_server import SHOTS, jupyter_server, notebook_json, run_all_cells, shot
from conftest import CHROMIUM_FLAGS, _skip_or_fail
from sklearn.ensemble import RandomForestClassifier
from test_share import XSS, XSS_COLUMN, _hostile_frames

import mia_notebook as mn
from mia_notebook.engine.metrics import fpr_label, tpr_at_fpr
from mia_notebook.render import render_bundle
from mia_notebook.render.mime import MIME_TYPE, saved_curve
from mia_notebook.render.mime_compare import COMPARISON_MIME_TYPE

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "shared_report.ipynb"
BUILT = ROOT / "mia_notebook" / "labextension"
REPORT = ".jp-OutputArea-output [data-mia-report]"
COMPARISON = ".jp-OutputArea-output [data-mia-comparison]"
# The command notebook: candidates (fitted `clf`, frames) and decoys it must not offer.
SETUP = """\
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
df = X.iloc[:, :6].assign(label=y)
train_df, test_df = df.iloc[::2], df.iloc[1::2]
clf = LogisticRegression(max_iter=5000).fit(train_df.drop(columns="label"), train_df["label"])
unfitted = LogisticRegression()
not_a_frame = [1, 2, 3]
"""
PANEL_CELL = """
import mia_notebook as mn
from mia_notebook.panel import AuditPanel
report = mn.audit(clf, train=train_df, test=test_df, target="label", attacks=["loss"])
AuditPanel(report, model=clf)
"""
NAMESPACE = "sorted(k for k in get_ipython().user_ns)"


def _payload() -> dict[str, Any]:
    nb = json.loads(NOTEBOOK.read_text())
    outs = [o for c in nb["cells"] for o in c.get("outputs", []) if MIME_TYPE in o.get("data", {})]
    assert len(outs) == 1 and "text/html" in outs[0]["data"]
    return outs[0]["data"][MIME_TYPE]


def _python_tpr(
    payload: dict[str, Any], target: float, *, per_attack: bool = False, hidden: str = ""
) -> dict[str, str]:
    """Python's TPR cell text at ``target`` for every row of the attack table, from the
    saved curves: one row per group of rank-equivalent attacks (named by its shown
    attacks, numbers of the first), or one per attack."""
    curves = {a["name"]: a["curve"] for a in payload["attacks"]}
    groups = [[a] for a in curves] if per_attack else payload["groups"]
    out = {}
    for group in groups:
        names = [a for a in group if a != hidden]
        if names:
            t = tpr_at_fpr(saved_curve(curves[names[0]]), target)
            out[", ".join(names)] = f"{t.tpr:.3f}" if t.resolvable else "n/a"
    return out


def _command_notebook() -> dict[str, Any]:
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": SETUP,
    }
    return notebook_json([cell])


# JupyterLab 4 and Notebook 7: how to start each, and where a notebook opens.
APPS = {
    "lab": (["-m", "jupyter", "lab"], "LabApp", "/lab/tree/"),
    "notebook": (["-m", "notebook"], "JupyterNotebookApp", "/notebooks/"),
}


def _prepare(root: Path) -> tuple[Path, Path, dict[str, str]]:
    """Notebooks (one trusted), the extension path and the server's environment."""
    nbdir, ext = root / "notebooks", root / "labextensions"
    nbdir.mkdir()
    ext.mkdir()
    (ext / "mia-notebook").symlink_to(BUILT, target_is_directory=True)
    # The trust database keys on content: the untrusted copy must differ from the trusted.
    for name in ("untrusted", "trusted"):
        nb = json.loads(NOTEBOOK.read_text())
        nb["metadata"]["mia_test_copy"] = name
        (nbdir / f"{name}.ipynb").write_text(json.dumps(nb, indent=1))
    (nbdir / "command.ipynb").write_text(json.dumps(_command_notebook(), indent=1))
    hostile = _hostile_notebook()
    for name in ("hostile", "hostile-trusted"):
        hostile["metadata"]["mia_test_copy"] = name
        (nbdir / f"{name}.ipynb").write_text(json.dumps(hostile, indent=1))
    live = _command_notebook()
    live["cells"][0]["source"] = SETUP + PANEL_CELL
    (nbdir / "panel-live.ipynb").write_text(json.dumps(live, indent=1))
    panel_nb = _panel_notebook()
    for name in ("panel-untrusted", "panel-trusted"):
        panel_nb["metadata"]["mia_test_copy"] = name
        (nbdir / f"{name}.ipynb").write_text(json.dumps(panel_nb, indent=1))
    news = root / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTER_DATA_DIR": str(root / "data"),  # its own notebook-signature database
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "trust",
            str(nbdir / "trusted.ipynb"),
            str(nbdir / "panel-trusted.ipynb"),
            str(nbdir / "hostile-trusted.ipynb"),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return nbdir, ext, env


def _hostile_notebook() -> dict[str, Any]:
    """A saved report on data full of markup (tests/test_share.py's), as a kernel saves it:
    markup in the model's name, column names, flagged values and index labels, and in the
    slice column's name and category labels."""
    train, test = _hostile_frames()
    # A forest leaks enough that some FPR target identifies members: their rows (hostile
    # values, hostile column names) are in the payload, and the test shows them.
    hostile_model = type(XSS[2], (RandomForestClassifier,), {})  # its name is markup
    clf = hostile_model(n_estimators=30, max_features=1, random_state=0, n_jobs=1)
    clf.fit(train.iloc[:, :6], train["label"])
    report = mn.audit(
        clf,
        train=train,
        test=test,
        target="label",
        attacks=["loss", "confidence"],
        redact=["ssn"],
        flag=6,
        slice=XSS_COLUMN,  # a hostile column name whose categories are markup too
    )
    nb = _command_notebook()
    nb["cells"][0].update(
        execution_count=1,
        source="report",
        outputs=[
            {
                "output_type": "execute_result",
                "execution_count": 1,
                "metadata": {},
                "data": render_bundle(report),
            }
        ],
    )
    return nb


def _panel_notebook() -> dict[str, Any]:
    """An audit panel's output as a kernel saves it (widget view, report JSON, static
    HTML), opened later without that kernel: its widget model is gone."""
    from mia_notebook.panel import AuditPanel

    train, test = _hostile_frames()
    clf = RandomForestClassifier(n_estimators=30, max_features=1, random_state=0, n_jobs=1)
    clf.fit(train.iloc[:, :6], train["label"])
    report = mn.audit(
        clf, train=train, test=test, target="label", attacks=["loss", "confidence"], flag=6
    )
    panel = AuditPanel(report, model=clf)
    panel.fpr.value = 0.1  # a view the user chose: the saved JSON is that view's
    bundle = panel.bundle()
    nb = _command_notebook()
    nb["cells"][0].update(
        id="panel",  # nbformat 4.5 wants ids: without one the content changes on load
        source="panel",
        outputs=[{"output_type": "display_data", "metadata": {}, "data": bundle}],
    )
    return nb


@pytest.fixture(scope="module", params=list(APPS))
def lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, chromium: str
) -> Iterator[dict[str, Any]]:
    app = request.param
    if app == "notebook" and importlib.util.find_spec("notebook") is None:
        _skip_or_fail("Notebook 7 is not installed (pip install 'notebook>=7')")
    if not (BUILT / "package.json").exists():
        pytest.fail("mia_notebook/labextension is not built: cd labextension && jlpm build")
    root = tmp_path_factory.mktemp(f"{app}13")
    nbdir, ext, env = _prepare(root)
    launch, cls, path = APPS[app]
    args = [
        f"--{cls}.expose_app_in_browser=True",
        f"--LabServerApp.extra_labextensions_path={ext}",
    ]
    with jupyter_server(root, nbdir, launch=launch, app=cls, args=args, env=env) as server:
        base, token = server.base, server.token
        yield {
            "base": base,
            "token": token,
            "chromium": chromium,
            "root": root,
            "log": server.log,
            "app": app,
            "url": lambda name: f"{base}{path}{name}?token={token}&reset",
        }


@pytest.fixture(scope="module")
def browser(lab: dict[str, Any]) -> Iterator[Any]:
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
            yield context
        finally:
            context.close()


# Notebook 7.6 raises this while loading its own settings, with or without this extension
# (checked by opening the same notebook with the extension off); it comes from
# notebook_core.js. Any error whose stack mentions this extension is never excused.
KNOWN_NB7_ERROR = "Cannot read properties of undefined (reading 'schema')"


def _watch(page: Any, app: str) -> list[str]:
    """Collect page errors and console errors (minus Notebook 7's known one)."""
    errors: list[str] = []

    def on_error(e: Any) -> None:
        stack = str(getattr(e, "stack", "") or "")
        known = app == "notebook" and KNOWN_NB7_ERROR in str(e) and "notebook_core" in stack
        if not known or "mia-notebook" in stack:
            errors.append(f"pageerror: {e} {stack[:400]}")

    page.on("pageerror", on_error)
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    return errors


def _page(context: Any, lab: dict[str, Any]) -> tuple[Any, list[str]]:
    """A new page and the errors it will log (:func:`_watch`)."""
    page = context.new_page()
    page.set_default_timeout(120_000)
    return page, _watch(page, lab["app"])


def _open(context: Any, lab: dict[str, Any], name: str) -> tuple[Any, list[str]]:
    page, errors = _page(context, lab)
    page.goto(lab["url"](name))
    page.wait_for_selector(REPORT, timeout=180_000)
    return page, errors


def _tpr_column(page: Any) -> tuple[str, dict[str, str]]:
    return page.eval_on_selector(
        f"{REPORT} table.mia-summary",
        """t => [t.querySelectorAll('th')[2].innerText.trim(),
                 Object.fromEntries(Array.from(t.tBodies[0].rows).map(
                     r => [r.cells[0].innerText.trim(), r.cells[2].innerText.trim()]))]""",
    )


@pytest.mark.parametrize("name", ["untrusted.ipynb", "trusted.ipynb"])
def test_saved_report_is_interactive_without_running_a_cell(
    lab: dict[str, Any], browser: Any, name: str
) -> None:
    payload = _payload()
    page, errors = _open(browser, lab, name)

    def check() -> None:
        trusted = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets"
            ".filter(c => c.model.type === 'code').map(c => c.model.trusted)"
        )
        assert trusted == [name == "trusted.ipynb"] * _code_cells(), trusted
        _check_report(page, payload, f"{lab['app']}-{name.split('.')[0]}")

    _checked(page, lab, errors, f"{lab['app']}-{name}", check)


def _code_cells() -> int:
    return sum(c["cell_type"] == "code" for c in json.loads(NOTEBOOK.read_text())["cells"])


def _checked(
    page: Any, lab: dict[str, Any], errors: list[str], tag: str, check: Any, excuse: str = ""
) -> None:
    """Run ``check``; on failure save a screenshot and the server log; then no errors
    (but those containing ``excuse``, when given)."""
    try:
        check()
    except Exception:
        shot(page, f"labextension-{tag}-failure")
        print(lab["log"].read_text(errors="replace")[-4000:])
        raise
    finally:
        page.close()
    left = [e for e in errors if not (excuse and excuse in e)]
    assert not left, left


def _check_report(page: Any, payload: dict[str, Any], tag: str) -> None:
    root = page.locator(REPORT)
    assert root.count() == 1
    # The interactive renderer replaced the static view, and nothing in it is a script.
    assert page.locator(".jp-OutputArea-output .mia-report").count() == 0
    assert root.locator("script").count() == 0
    verdict = root.locator(".mia-verdict").inner_text().strip()
    assert (
        verdict == f"Privacy risk: {payload['verdict']['level']} — {payload['verdict']['reason']}"
    )
    first = payload["verdict"]["fpr"] or payload["fpr_targets"][0]  # the verdict's own target
    head, cells = _tpr_column(page)
    assert head == fpr_label(first) and cells == _python_tpr(payload, first)
    _check_flagged(root, payload, first)
    shot(page, f"labextension-{tag}-before")

    control = root.get_by_label(re.compile("FPR"))  # the notebook also holds a comparison
    new = 0.1
    control.select_option(str(new))
    page.wait_for_function(
        "([sel, label]) => document.querySelector(sel + ' table.mia-summary th:nth-child(3)')"
        ".innerText.trim() === label",
        arg=[REPORT, fpr_label(new)],
    )
    head, after = _tpr_column(page)
    assert after == _python_tpr(payload, new) and after != cells
    assert "10% FPR" in root.locator(".mia-flag-summary").inner_text()
    _check_flagged(root, payload, new)

    # Hover the ROC: a read-out with FPR, TPR and threshold.
    svg = root.locator("svg.mia-roc-svg")
    svg.scroll_into_view_if_needed()
    box = svg.bounding_box()
    assert box is not None
    svg.hover(position={"x": box["width"] * 0.6, "y": box["height"] * 0.3})
    readout = root.locator(".mia-roc-readout").inner_text()
    assert re.search(r"FPR [0-9.e-]+, TPR [0-9.]+, threshold", readout), readout
    shot(page, f"labextension-{tag}-after")
    svg.screenshot(path=str(SHOTS / f"labextension-{tag}-roc-hover.png"))

    _sort_and_hide(page, root, payload)


def _listed(payload: dict[str, Any], target: float) -> list[str]:
    """Index labels Python allows at ``target``: the rows ranked within the members the
    verdict's attack identifies there (none without a claim), at most ``flag``."""
    claim = next(c for c in payload["claims"] if c["fpr"] == target)
    f = payload["flagged"]
    col = f["columns"].index(f["rank_column"]) + 1
    rows = [r for r in f["rows"] if claim["claim"] and r[col] <= claim["identified"]]
    return [str(r[0]) for r in rows[: f["limit"]]]


def _check_flagged(root: Any, payload: dict[str, Any], target: float) -> None:
    """The flagged table lists exactly the records Python allows at ``target``."""
    want = _listed(payload, target)
    shown = root.locator("table.mia-flagged-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.cells[0].innerText.trim())"
    )
    assert [s.replace(",", "") for s in shown] == [w.replace(",", "") for w in want]
    if not want:
        assert "No records listed" in root.locator(".mia-flag-summary").inner_text()


def _sort_and_hide(page: Any, root: Any, payload: dict[str, Any]) -> None:
    table = root.locator("table.mia-flagged-table")
    col = table.locator("th button", has_text=f"rank ({payload['attacks'][-1]['name']})")
    col.click()
    col = table.locator("th button", has_text=f"rank ({payload['attacks'][-1]['name']})")
    idx = table.locator("th").evaluate_all(
        "(ths, text) => ths.findIndex(th => th.innerText.trim() === text)",
        f"rank ({payload['attacks'][-1]['name']})",
    )
    values = table.locator("tbody tr").evaluate_all(
        "(rows, i) => rows.map(r => Number(r.cells[i].innerText.replace(/,/g, '')))", idx
    )
    assert values == sorted(values) and len(values) == len(_listed(payload, 0.1)) > 0
    col.click()
    values = table.locator("tbody tr").evaluate_all(
        "(rows, i) => rows.map(r => Number(r.cells[i].innerText.replace(/,/g, '')))", idx
    )
    assert values == sorted(values, reverse=True)
    # One row (and one curve) per group of rank-equivalent attacks, as the static report,
    # and every attack's row on demand.
    assert any(len(g) > 1 for g in payload["groups"]), "the shared forest has a merged group"
    toggle = root.locator(".mia-per-attack input")
    for per_attack in (False, True, False):
        toggle.set_checked(per_attack)
        _, cells = _tpr_column(page)
        assert cells == _python_tpr(payload, 0.1, per_attack=per_attack)
        assert len(cells) == len(payload["attacks"] if per_attack else payload["groups"])
        assert root.locator("svg.mia-roc-svg polyline").count() == len(cells)
        assert root.locator(".mia-group-note").count() == int(not per_attack)
    # Hiding the group's first attack keeps the group's row, named by the rest.
    hidden = payload["attacks"][0]["name"]
    root.locator(".mia-attack-toggle", has_text=hidden).locator("input").uncheck()
    for per_attack in (False, True):
        toggle.set_checked(per_attack)
        _, cells = _tpr_column(page)
        assert cells == _python_tpr(payload, 0.1, per_attack=per_attack, hidden=hidden)
        assert hidden not in [a for row in cells for a in row.split(", ")]
        assert root.locator("svg.mia-roc-svg polyline").count() == len(cells)
    assert len(cells) == len(payload["attacks"]) - 1


def _namespace(page: Any) -> str:
    """The kernel's user-namespace names, read through a silent request."""
    return page.evaluate(
        """async (expr) => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const reply = await k.requestExecute({code: '', silent: true, store_history: false,
                user_expressions: {ns: expr}}).done;
            return reply.content.user_expressions.ns.data['text/plain'];
        }""",
        NAMESPACE,
    )


def test_audit_command_inserts_and_runs_the_magic(lab: dict[str, Any], browser: Any) -> None:
    page, errors = _page(browser, lab)
    _checked(page, lab, errors, f"{lab['app']}-command", lambda: _drive_command(page, lab))


def _drive_command(page: Any, lab: dict[str, Any]) -> None:
    run_all_cells(page, lab["url"]("command.ipynb"))
    page.wait_for_selector(".jp-CodeCell .jp-InputPrompt:has-text('[1]')", timeout=180_000)
    # In the command palette under its full name.
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("membership inference")
    item = page.locator(".lm-CommandPalette-item", has_text="Audit a model for membership")
    assert item.count() == 1
    page.keyboard.press("Escape")

    before = _namespace(page)
    assert "clf" in before and "unfitted" in before
    page.locator(".jp-NotebookPanel-toolbar .mia-audit-button").first.click()
    form = page.wait_for_selector(".jp-Dialog .mia-audit-form")
    assert form is not None
    assert _namespace(page) == before  # the silent request left nothing behind
    options = page.eval_on_selector_all(
        ".mia-audit-form select[name=model] option", "os => os.map(o => o.value)"
    )
    assert options == ["clf"]  # not the unfitted estimator
    frames = page.eval_on_selector_all(
        ".mia-audit-form select[name=train] option", "os => os.map(o => o.value)"
    )
    assert sorted(frames) == ["X", "df", "test_df", "train_df"]
    values = page.eval_on_selector_all(
        ".mia-audit-form select", "ss => Object.fromEntries(ss.map(s => [s.name, s.value]))"
    )
    assert values["train"] == "train_df" and values["test"] == "test_df"
    assert values["target"] == "label"
    assert values["person"] == ""  # rows are the unit unless a person column is chosen
    people = page.eval_on_selector_all(
        ".mia-audit-form select[name=person] option", "os => os.map(o => o.value)"
    )
    assert people[0] == "" and "label" in people
    page.select_option(".mia-audit-form select[name=attacks]", "loss,confidence,entropy")
    page.fill(".mia-audit-form input[name=flag]", "5")
    shot(page, f"labextension-{lab['app']}-command-dialog")
    page.locator(".jp-Dialog .jp-mod-accept").click()

    line = (
        "%mia_audit clf --train train_df --test test_df --target label "
        "--attacks loss,confidence,entropy --flag 5"
    )
    cell = page.locator(".jp-CodeCell", has_text="%mia_audit")
    cell.locator("[data-mia-report]").wait_for(timeout=300_000)
    source = cell.locator(".jp-InputArea-editor").inner_text().strip()
    assert source == line, source
    # The same audit in this process: the cell shows Python's verdict and its records.
    ns: dict[str, Any] = {}
    exec(SETUP, ns)
    report = mn.audit(
        ns["clf"],
        train=ns["train_df"],
        test=ns["test_df"],
        target="label",
        attacks=["loss", "confidence", "entropy"],
        flag=5,
    )
    verdict = cell.locator(".mia-verdict").inner_text().strip()
    assert verdict == f"Privacy risk: {report.verdict.level} — {report.verdict.reason}"
    assert len(cell.locator(".mia-flagged-table tbody tr").all()) == len(report.flagged())
    shot(page, f"labextension-{lab['app']}-command-report")


@pytest.mark.parametrize("name", ["panel-untrusted.ipynb", "panel-trusted.ipynb"])
def test_saved_panel_without_its_kernel_shows_the_interactive_report(
    lab: dict[str, Any], browser: Any, name: str
) -> None:
    """The panel's saved output, reopened (a new kernel: the widget model is gone): the
    interactive report from the saved JSON, not "model not found"; its FPR control works."""
    page, errors = _open(browser, lab, name)

    def check() -> None:
        out = page.locator(".jp-OutputArea-output").filter(has=page.locator("[data-mia-report]"))
        assert out.count() == 1
        trusted = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.trusted)"
        )
        assert trusted == [name == "panel-trusted.ipynb"], trusted
        if name == "panel-trusted.ipynb":
            # The widget renderer ran, hidden: with a new kernel it never draws a view
            # ("Loading widget...", then "model not found"), so the report stays.
            dead = out.locator(":scope > :not(.mia-lab-renderer)")
            dead.wait_for(state="attached", timeout=60_000)
            page.wait_for_timeout(5_000)  # the widget manager has had time to answer
            assert dead.count() == 1 and not dead.is_visible()
            assert re.search("Loading widget|model not found", dead.text_content() or "")
        root = out.locator("[data-mia-report]")
        assert root.is_visible()
        head, _ = _tpr_column(page)
        assert head == fpr_label(0.1)  # the view saved by the panel
        page.get_by_label(re.compile("FPR")).select_option("0.5")
        head, _ = _tpr_column(page)
        assert head == fpr_label(0.5)
        assert "model not found" not in out.inner_text()
        shot(page, f"labextension-{lab['app']}-{name.split('.')[0]}")

    # ipywidgets logs its own "widget model not found" while it looks: not ours.
    _checked(page, lab, errors, f"{lab['app']}-{name}", check, excuse="model not found")


def test_live_panel_shows_its_widget(lab: dict[str, Any], browser: Any) -> None:
    """With its kernel, the panel's output is the live widget (the report view steps aside)."""
    page, errors = _page(browser, lab)

    def check() -> None:
        run_all_cells(page, lab["url"]("panel-live.ipynb"))
        out = page.locator(".jp-OutputArea-output.mia-lab-notebook-report").first
        out.locator(".widget-vbox").first.wait_for(state="visible", timeout=300_000)
        # The display's own report steps aside (the panel's report area nests another).
        assert not out.locator(":scope > .mia-lab-renderer").is_visible()
        assert "model not found" not in out.inner_text()
        shot(page, f"labextension-{lab['app']}-panel-live")

    _checked(page, lab, errors, f"{lab['app']}-panel-live", check)


LIVE = ".jp-OutputArea-output .mia-audit-panel"
LIVE_REPORT = f"{LIVE} .mia-report-area [data-mia-report]"
KERNEL_MESSAGE = re.compile(r'"msg_type"\s*:\s*"(execute_request|comm_msg)"')


def _kernel_messages(frames: list[str]) -> list[str]:
    """The execute / comm message types among websocket frames the page sent."""
    return [m.group(1) for f in frames for m in [KERNEL_MESSAGE.search(f)] if m]


def _ask_panel(page: Any, expr: str) -> str:
    """``expr`` of the notebook's AuditPanel (its last output), through a silent request."""
    return page.evaluate(
        """async (expr) => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            const reply = await k.requestExecute({code: '', silent: true, store_history: false,
                user_expressions: {p: expr}}).done;
            return reply.content.user_expressions.p.data['text/plain'];
        }""",
        "[o for o in Out.values() if type(o).__name__ == 'AuditPanel'][-1]" + expr,
    )


def _live_tpr(page: Any) -> tuple[str, dict[str, str]]:
    """Header and cells of the TPR column in the live panel's report area."""
    table = page.locator(f"{LIVE_REPORT} table.mia-summary")
    head = table.locator("th").nth(2).inner_text().strip()
    rows = table.locator("tbody tr").evaluate_all(
        "rs => rs.map(r => [r.cells[0].innerText.trim(), r.cells[2].innerText.trim()])"
    )
    return head, dict(rows)


def test_live_panel_instant_controls_run_in_the_browser(lab: dict[str, Any], browser: Any) -> None:
    """The live panel's report area is the interactive renderer: its FPR control changes
    the TPR column to Python's figures with no execute or comm message to the kernel (the
    kernel's own FPR slider is hidden and its view unchanged). Kernel-side controls keep
    focus across a kernel update, and Run shows a new report without re-creating them."""
    page, errors = _page(browser, lab)
    sent: list[str] = []

    def on_socket(ws: Any) -> None:
        ws.on("framesent", lambda f: sent.append(f if isinstance(f, str) else f.decode("latin-1")))

    page.on("websocket", on_socket)
    _checked(page, lab, errors, f"{lab['app']}-panel-instant", lambda: _drive_live(page, lab, sent))


def _drive_live(page: Any, lab: dict[str, Any], sent: list[str]) -> None:
    run_all_cells(page, lab["url"]("panel-live.ipynb"))
    page.locator(LIVE_REPORT).wait_for(state="visible", timeout=300_000)
    panel = page.locator(LIVE)
    assert page.locator(f"{REPORT}:visible").count() == 1  # the display's own stays hidden
    assert panel.locator(".mia-kernel-instant").count() == 1
    assert not panel.locator(".mia-kernel-instant").is_visible()  # the kernel's FPR slider
    run = panel.locator(".widget-button", has_text="Run")
    seed = panel.locator(".widget-text", has_text="Seed").locator("input")
    assert run.is_visible() and seed.is_visible()
    payload = page.evaluate(
        """(mime) => window.jupyterapp.shell.currentWidget.content.widgets[0].model.outputs
               .toJSON().find(o => o.data && o.data[mime]).data[mime]""",
        MIME_TYPE,
    )
    first = payload["verdict"]["fpr"] or payload["fpr_targets"][0]
    head, cells = _live_tpr(page)
    assert head == fpr_label(first) and cells == _python_tpr(payload, first)
    shot(page, f"labextension-{lab['app']}-panel-instant-before")

    # The renderer's FPR control: the TPR column follows, and nothing goes to the kernel.
    sent.clear()
    new = 0.5
    page.locator(LIVE_REPORT).get_by_label(re.compile("FPR")).select_option(str(new))
    page.wait_for_function(
        "([sel, label]) => document.querySelector(sel + ' table.mia-summary th:nth-child(3)')"
        ".innerText.trim() === label",
        arg=[LIVE_REPORT, fpr_label(new)],
    )
    page.wait_for_timeout(1_500)
    assert _kernel_messages(sent) == [], _kernel_messages(sent)
    _, after = _live_tpr(page)
    assert after == _python_tpr(payload, new) and after != cells
    assert float(_ask_panel(page, ".report.options.fpr[0]")) == payload["fpr_targets"][0]
    shot(page, f"labextension-{lab['app']}-panel-instant-fpr")
    _kernel_control_keeps_focus(page, panel, sent)
    _run_shows_new_report(page, panel, seed, run)
    shot(page, f"labextension-{lab['app']}-panel-instant-after-run")


def _kernel_control_keeps_focus(page: Any, panel: Any, sent: list[str]) -> None:
    """A kernel-side control (flag count) round-trips, the report area gets a new report,
    and the slider the user moved is the same element, still focused."""
    handle = panel.locator(".widget-slider", has_text="Flagged records").locator(".noUi-handle")
    old = page.locator(LIVE_REPORT).element_handle()
    flag = int(_ask_panel(page, ".flag.value"))
    sent.clear()
    # Drag the focused handle a little to the right, as a user does.
    handle.focus()
    box = handle.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y, steps=4)
    page.mouse.up()
    page.wait_for_function("n => !n.isConnected", arg=old, timeout=60_000)
    page.locator(LIVE_REPORT).wait_for(state="visible")
    assert "comm_msg" in _kernel_messages(sent)  # the watcher sees kernel traffic
    assert handle.evaluate("n => n.isConnected && document.activeElement === n")
    assert int(_ask_panel(page, ".flag.value")) > flag


def _run_shows_new_report(page: Any, panel: Any, seed: Any, run: Any) -> None:
    """Run (after a new seed) re-audits in the kernel; the report area shows the new
    report and the Run controls are the same elements."""
    seed_node, run_node = seed.element_handle(), run.element_handle()
    seed.fill("3")
    seed.press("Enter")
    page.wait_for_function("b => !b.disabled", arg=run_node)
    old = page.locator(LIVE_REPORT).element_handle()
    run.click()
    panel.locator(".widget-label", has_text="Done in").wait_for(timeout=120_000)
    page.wait_for_function("n => !n.isConnected", arg=old, timeout=60_000)
    page.locator(LIVE_REPORT).wait_for(state="visible")
    assert _ask_panel(page, ".report.options.seed") == "3"
    assert seed_node.evaluate("n => n.isConnected") and run_node.evaluate("n => n.isConnected")
    control = page.locator(LIVE_REPORT).get_by_label(re.compile("FPR"))
    control.select_option("0.1")
    assert _live_tpr(page)[0] == fpr_label(0.1)


@pytest.mark.parametrize("name", ["hostile.ipynb", "hostile-trusted.ipynb"])
def test_markup_in_user_data_stays_text(lab: dict[str, Any], browser: Any, name: str) -> None:
    """Markup in the model's name, column names, flagged values, index labels and slice
    category labels shows as text, in untrusted and trusted notebooks; nothing runs,
    nothing leaks (the redacted column)."""
    page, errors = _open(browser, lab, name)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def check() -> None:
        root = page.locator(REPORT)
        root.locator(".mia-attack-toggle input").first.hover()  # mouse over the report
        hostile = lab["root"] / "notebooks" / name
        payload = json.loads(hostile.read_text())["cells"][0]["outputs"][0]["data"][MIME_TYPE]
        target = next(c["fpr"] for c in payload["claims"] if c["claim"])
        root.get_by_label(re.compile("FPR")).select_option(str(target))
        table = root.locator("table.mia-flagged-table")
        assert table.locator("tbody tr").count() > 0  # hostile values on show
        table.locator("th button", has_text=XSS_COLUMN).click()  # sort by the hostile column
        cells = table.locator("tbody td").all_inner_texts()
        assert any(c in XSS for c in cells) and any(c.startswith("<i>row") for c in cells)
        slices = root.locator("[data-mia-slices]")
        headings = slices.locator("h4").all_inner_texts()
        assert any(h.startswith(f"By {XSS_COLUMN}: ") for h in headings), headings
        groups = slices.locator("table tbody tr td:first-child").all_inner_texts()
        assert set(XSS) <= set(groups), groups  # every category label, as text
        assert root.locator("h3").inner_text() == f"Membership-inference audit: {XSS[2]}"
        text = root.inner_text()
        assert XSS[0] in text and XSS_COLUMN in text and "999-" not in text
        live = "script, iframe, img, object, embed, [onerror], [onload], [onmouseover]"
        assert root.locator(live).count() == 0
        in_outputs = ", ".join(f".jp-OutputArea-output {sel}" for sel in live.split(", "))
        assert page.locator(in_outputs).count() == 0
        assert page.evaluate("() => window.__mia_pwned") is None and not dialogs
        shot(page, f"labextension-{lab['app']}-{name.removesuffix('.ipynb')}")

    _checked(page, lab, errors, f"{lab['app']}-{name}", check)


# ----------------------------------------------------------- saved comparison of models


def _comparison_payload() -> dict[str, Any]:
    nb = json.loads(NOTEBOOK.read_text())
    outs = [o["data"] for c in nb["cells"] for o in c.get("outputs", []) if "data" in o]
    found = [d for d in outs if COMPARISON_MIME_TYPE in d]
    assert len(found) == 1 and "mia-compare" in "".join(found[0]["text/html"])
    payload: dict[str, Any] = found[0][COMPARISON_MIME_TYPE]
    return payload


def _python_model_rows(payload: dict[str, Any], target: float) -> dict[str, tuple[str, str]]:
    """Per model, Python's TPR cell at ``target`` from the saved curve of its row attack,
    and what its verdict attack singles out there (the claim its saved report made)."""
    out = {}
    for m in payload["models"]:
        row = next(a for a in m["report"]["attacks"] if a["name"] == m["attack"])
        t = tpr_at_fpr(saved_curve(row["curve"]), target)
        claim = next(c for c in m["report"]["claims"] if c["fpr"] == target)
        if m["level"] == "none":
            said = "none (no attack beats chance)"
        elif claim["claim"]:
            said = f"{claim['identified']:,} members"
        else:
            said = {"unresolvable": "not resolvable at this FPR"}.get(
                claim["why"], "none beyond chance here"
            )
        out[m["name"]] = (f"{t.tpr:.3f}" if t.resolvable else "—", said)
    return out


def _comparison_table(page: Any) -> tuple[str, dict[str, tuple[str, str]]]:
    """The models table's TPR header, and per model its TPR and 'singled out' cells."""
    header, rows = page.eval_on_selector(
        f"{COMPARISON} table.mia-compare-table",
        """t => {
            const head = Array.from(t.tHead.rows[0].cells).map(c => c.innerText.trim());
            const tpr = head.findIndex(h => h.startsWith('TPR @ FPR'));
            const out = head.indexOf('members singled out');
            return [head[tpr], Array.from(t.tBodies[0].rows).map(r => [
                r.cells[0].innerText.trim(),
                [r.cells[tpr].innerText.trim(), r.cells[out].innerText.trim()]])];
        }""",
    )
    return header, {name: (tpr, said) for name, (tpr, said) in rows}


def _open_comparison(context: Any, lab: dict[str, Any], name: str) -> tuple[Any, list[str]]:
    page, errors = _open(context, lab, name)
    # The comparison is the notebook's last output: bring it into view (windowed notebooks
    # may render cells only near the viewport).
    page.evaluate(
        """() => { const nb = window.jupyterapp.shell.currentWidget.content;
                   nb.activeCellIndex = nb.widgets.length - 1;
                   nb.scrollToItem(nb.widgets.length - 1); }"""
    )
    page.wait_for_selector(COMPARISON, timeout=120_000)
    page.locator(COMPARISON).scroll_into_view_if_needed()
    return page, errors


@pytest.mark.parametrize("name", ["untrusted.ipynb", "trusted.ipynb"])
def test_saved_comparison_is_interactive_without_running_a_cell(
    lab: dict[str, Any], browser: Any, name: str
) -> None:
    """The shared notebook's saved comparison renders from its JSON alone: every model's
    verdict, the table with Python's TPR per model, an FPR control that recomputes them,
    the overlaid ROC with hover read-outs; no script, no console error."""
    payload = _comparison_payload()
    page, errors = _open_comparison(browser, lab, name)
    tag = f"{lab['app']}-{name.split('.')[0]}-comparison"

    def check() -> None:
        root = page.locator(COMPARISON)
        assert root.count() == 1 and root.locator("script").count() == 0
        # The interactive view replaced the static one; the single report is separate.
        assert page.locator(".jp-OutputArea-output .mia-compare").count() == 0
        assert root.locator("[data-mia-report]").count() == 0
        assert root.locator(".mia-verdict").inner_text().strip() == payload["verdict_line"]
        verdicts = root.locator(".mia-model-verdicts li").all_inner_texts()
        assert [v.strip() for v in verdicts] == [
            f"{m['name']}: {m['level']} — {m['report']['verdict']['reason']}"
            for m in payload["models"]
        ]
        first = payload["fpr"]
        head, rows = _comparison_table(page)
        assert head == f"TPR @ FPR {first:g}" and rows == _python_model_rows(payload, first)
        shot(page, f"labextension-{tag}-before")

        new = 0.1
        root.get_by_label(re.compile("FPR")).select_option(str(new))
        page.wait_for_function(
            "([sel, label]) => Array.from(document.querySelectorAll(sel + ' th'))"
            ".some(th => th.innerText.trim() === label)",
            arg=[COMPARISON, f"TPR @ FPR {new:g}"],
        )
        _, after = _comparison_table(page)
        assert after == _python_model_rows(payload, new)
        assert [t for t, _ in after.values()] != [t for t, _ in rows.values()]
        assert any(s.endswith(" members") for _, s in after.values())  # the leaky forest

        svg = root.locator("svg.mia-roc-svg")
        svg.scroll_into_view_if_needed()
        assert svg.locator("polyline").count() == len(payload["models"])
        box = svg.bounding_box()
        assert box is not None
        svg.hover(position={"x": box["width"] * 0.6, "y": box["height"] * 0.3})
        readout = root.locator(".mia-roc-readout").inner_text()
        names = "|".join(re.escape(m["name"]) for m in payload["models"])
        assert re.search(rf"^({names}): FPR [0-9.e-]+, TPR [0-9.]+, threshold", readout), readout
        shot(page, f"labextension-{tag}-after")
        root.screenshot(path=str(SHOTS / f"labextension-{tag}-view.png"))

    _checked(page, lab, errors, tag, check)


def test_comparison_markup_in_model_names_stays_text(lab: dict[str, Any], browser: Any) -> None:
    """A saved comparison whose model names are markup: shown as text, nothing runs."""
    from sklearn.linear_model import LogisticRegression

    train, test = _hostile_frames()
    forest = RandomForestClassifier(n_estimators=30, max_features=1, random_state=0, n_jobs=1)
    forest.fit(train.iloc[:, :6], train["label"])
    logreg = LogisticRegression(max_iter=5000).fit(train.iloc[:, :6], train["label"])
    cmp = mn.compare(
        {XSS[1]: forest, XSS_COLUMN: logreg},
        train=train,
        test=test,
        target="label",
        attacks=["loss", "confidence"],
        redact=["ssn"],
        progress=False,
    )
    nb = _command_notebook()
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {}}
    output["data"] = cmp._repr_mimebundle_()
    nb["cells"][0].update(id="cmp", execution_count=1, source="cmp", outputs=[output])
    (lab["root"] / "notebooks" / "hostile-comparison.ipynb").write_text(json.dumps(nb))
    page, errors = _page(browser, lab)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def check() -> None:
        page.goto(lab["url"]("hostile-comparison.ipynb"))
        root = page.locator(COMPARISON)
        root.wait_for(timeout=180_000)
        root.locator("table.mia-compare-table tbody tr").first.hover()
        root.get_by_label(re.compile("FPR")).select_option("0.1")
        svg = root.locator("svg.mia-roc-svg")
        box = svg.bounding_box()
        assert box is not None
        svg.hover(position={"x": box["width"] * 0.6, "y": box["height"] * 0.3})
        text = root.inner_text()
        assert XSS[1] in text and XSS_COLUMN in text and "999-" not in text
        live = "script, iframe, img, object, embed, [onerror], [onload], [onmouseover]"
        assert root.locator(live).count() == 0
        assert page.evaluate("() => window.__mia_pwned") is None and not dialogs
        shot(page, f"labextension-{lab['app']}-hostile-comparison")

    _checked(page, lab, errors, f"{lab['app']}-hostile-comparison", check)
