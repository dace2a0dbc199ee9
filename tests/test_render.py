"""The render layer: grouped summary, ROC styling, flagged and slice tables, numbers by
dtype, the render memo, the renderer hook (installed on first display) and the removed
shims."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from sklearn.ensemble import RandomForestClassifier

import mia_notebook as mn
from mia_notebook.engine.exposure import REDACTED
from mia_notebook.engine.grouping import ValueGroups, rank_equivalent_groups, value_groups
from mia_notebook.engine.results import RENDERER, set_renderer
from mia_notebook.render import memo
from mia_notebook.render.format import fmt_number
from mia_notebook.render.html import render_html
from mia_notebook.render.plots import plot_roc
from mia_notebook.render.text import render_text

ROOT = Path(__file__).parents[1]
ATTACKS = "loss,confidence,logit,entropy,mentropy,gap"


def build_report(
    splits: tuple[pd.DataFrame, pd.DataFrame], *, attacks: str, **kwargs: object
) -> mn.AuditReport:
    """A forest audited on the cancer data with 30% of the labels flipped (so it
    memorises members and the verdict identifies some), with an id-like column
    (redacted) and an integer column; sliced by ``mean radius``."""
    rng = np.random.default_rng(0)
    tr, te = (
        f.assign(label=np.where(rng.random(len(f)) < 0.3, 1 - f.label, f.label)) for f in splits
    )
    tr = tr.assign(ssn=[f"999-{i:04d}" for i in range(len(tr))], visits=range(len(tr)))
    te = te.assign(ssn=[f"888-{i:04d}" for i in range(len(te))], visits=range(len(te)))
    feats = [c for c in tr.columns if c not in ("label", "ssn", "visits")]
    clf = RandomForestClassifier(n_estimators=20, random_state=0).fit(tr[feats], tr["label"])
    return mn.audit(
        clf, train=tr, test=te, target="label", features=feats, attacks=attacks,
        redact=["ssn"], flag=5, slice="mean radius", progress=False, **kwargs,
    )  # fmt: skip


@pytest.fixture(scope="module")
def report(cancer_splits: tuple[pd.DataFrame, pd.DataFrame]) -> mn.AuditReport:
    return build_report(cancer_splits, attacks=ATTACKS)


# ------------------------------------------------------------------ rank equivalence
def _pair_signs(x: np.ndarray) -> np.ndarray:
    diff = x[:, None] - x[None, :]
    floor = np.abs(x[np.isfinite(x)]).max()
    scale = np.maximum(np.maximum(np.abs(x[:, None]), np.abs(x[None, :])), floor)
    return np.where(np.abs(diff) <= 1e-10 * scale, 0, np.sign(diff))


def _same_order(a: np.ndarray, b: np.ndarray) -> bool:
    """Slow reference: every pair of records compares the same way under both scores
    (values within floating-point noise compare equal)."""
    return bool(np.array_equal(_pair_signs(a), _pair_signs(b)))


def test_rank_groups_match_pairwise_reference(report):
    groups = report.rank_groups()
    assert sorted(a for g in groups for a in g) == sorted(report.attacks)
    scores = {a: report.scores[a].to_numpy() for a in report.attacks}
    where = {a: i for i, g in enumerate(groups) for a in g}
    for a in report.attacks:
        for b in report.attacks:
            assert _same_order(scores[a], scores[b]) == (where[a] == where[b]), (a, b)
    # on a binary task, loss, confidence and logit order the records identically
    assert where["loss"] == where["confidence"] == where["logit"]


def test_rank_groups_of_synthetic_scores():
    rng = np.random.default_rng(0)
    x = rng.normal(size=500).round(2)  # with ties
    noisy = x * (1 + rng.uniform(-4e-16, 4e-16, 500))  # rounding noise: the same order
    frame = pd.DataFrame(
        {"a": x, "b": np.exp(x), "c": -x, "d": x + rng.normal(0, 1e-3, 500), "e": noisy}
    )
    names = ["a", "b", "c", "d", "e"]
    assert rank_equivalent_groups(frame, names) == [("a", "b", "e"), ("c",), ("d",)]
    special = pd.DataFrame({"a": [np.nan, 1.0, np.inf, 2.0], "b": [np.nan, 1.0, 3.0, 2.0]})
    assert rank_equivalent_groups(special, ["a", "b"]) == [("a", "b")]
    inf_tie = pd.DataFrame({"a": [np.inf, 1e300, 0.0], "b": [2.0, 1.0, 0.0]})
    assert rank_equivalent_groups(inf_tie, ["a", "b"]) == [("a", "b")]


def test_grouped_summary_has_one_row_per_group_and_summary_keeps_all(report):
    summ, grouped = report.summary, report.grouped_summary()
    assert list(summ.index) == report.attacks  # every row stays available
    assert len(grouped) == len(report.rank_groups()) < len(summ)
    for first, names in zip(grouped.index, grouped["group"], strict=True):
        for name in names.split(", "):
            pd.testing.assert_series_equal(
                summ.loc[name].drop("notes"), summ.loc[first].drop("notes"), check_names=False
            )


def test_risk_table_names_every_attack_of_a_group(report):
    html = render_html(report)
    table = html.split("<table", 2)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table)[1:]
    assert len(rows) == len(report.rank_groups())
    for name in report.attacks:
        assert f"[{name}]" in table
    text = render_text(report)
    assert "loss = confidence = logit" in text.replace("mentropy = ", "")


# ------------------------------------------------------------------ ROC figure
def test_roc_legend_outside_distinct_styles_highlight_thickest(report):
    ax = plot_roc(report, highlight="gap")
    fig = ax.get_figure()
    fig.canvas.draw()  # type: ignore[union-attr]
    legend = ax.get_legend()
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1  # beside the axes
    lines = [ln for ln in ax.get_lines() if ln.get_label() != "chance" and ln.get_gid()]
    assert len(lines) == len(report.rank_groups())  # one curve per group
    colours = [to_hex(ln.get_color()) for ln in lines]
    dashes = [(ln.get_linestyle(), str(ln._dash_pattern)) for ln in lines]
    assert len(set(colours)) == len(lines) and len(set(dashes)) == len(lines)
    chance = [ln for ln in ax.get_lines() if ln.get_label() == "chance"]
    assert len(chance) == 1 and to_hex(chance[0].get_color()) not in colours
    np.testing.assert_allclose(chance[0].get_xdata(), chance[0].get_ydata())
    widths = {ln.get_gid(): ln.get_linewidth() for ln in lines}
    thick = max(widths, key=lambda g: widths[g])
    assert "gap" in thick.split(",") and sorted(widths.values())[-2] < widths[thick]


def test_roc_draws_the_points_the_tables_read_as_steps(report):
    """Each curve is drawn as steps between achievable points: at every FPR target the
    drawn TPR is the table's (a tied group never rises from the corner), and the
    verdict's FPR is marked; the image does not depend on the tables' targets."""
    from mia_notebook.engine.metrics import tpr_at_fpr
    from mia_notebook.render.curves import roc_floor
    from mia_notebook.render.plots import roc_png

    ax = plot_roc(report)
    lo = roc_floor(int((~report.members).sum()))
    lines = [ln for ln in ax.get_lines() if ln.get_gid()]
    curves = report.roc_curves()
    for line in lines:
        assert line.get_drawstyle() == "steps-post"
        x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
        for target in (0.01, 0.05, 0.1, 0.3):
            want = tpr_at_fpr(curves[line.get_gid().split(",")[0]], target, None)
            drawn = y[np.searchsorted(x, target + 1e-12, side="right") - 1]
            assert drawn == max(want.tpr, lo), (line.get_gid(), target)
    gap = next(ln for ln in lines if "gap" in ln.get_gid().split(","))
    assert np.asarray(gap.get_ydata())[np.asarray(gap.get_xdata()) <= 0.01].max() == lo
    verdict = [ln for ln in ax.get_lines() if str(ln.get_label()).startswith("verdict")]
    assert [ln.get_xdata()[0] for ln in verdict] == [report.verdict.evidence["fpr"]]
    assert roc_png(report) is roc_png(report.with_options(fpr=[0.05]))  # one image


# ------------------------------------------------------------------ flagged records
def test_flagged_values_first_then_score_and_rank_among_members(report):
    flagged = report.flagged(attack="gap")
    n_cols = report.data.train.shape[1]
    assert list(flagged.columns[:n_cols]) == list(report.data.train.columns)
    assert list(flagged.columns[n_cols:]) == [
        "score (gap)",
        f"rank among {report.n_members:,} members",
    ]
    assert (flagged["ssn"] == REDACTED).all()
    members = report.scores["gap"].to_numpy()[: report.n_members]
    for score, rank in zip(flagged["score (gap)"], flagged.iloc[:, -1], strict=True):
        assert rank == 1 + int((members > score).sum())  # slow reference, ties share
    ranks = report.flagged_ranks(attack="gap")
    assert list(ranks.index) == list(flagged.index) and list(ranks.columns) == report.attacks
    for a in report.attacks:
        col = report.scores[a].to_numpy()[: report.n_members]
        pos = [report.data.train.index.get_loc(i) for i in ranks.index]
        expected = [1 + int((col > col[p]).sum()) for p in pos]
        assert ranks[a].tolist() == expected


def test_flagged_html_formats_by_dtype_and_collapses_ranks(report):
    html = render_html(report)
    section = html.split("Most exposed members", 1)[1].split("<h4>", 1)[0]
    assert "<details><summary>Rank among the members under every attack" in section
    head = re.findall(r"<th[^>]*>([^<]*)</th>", section.split("</thead>", 1)[0])
    assert head[1:3] == ["mean radius", "mean texture"] and head[-1].startswith("rank among")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", section.split("<details>", 1)[0])
    assert not [c for c in cells if re.fullmatch(r"-?\d+\.\d*0000", c)]  # no 22.0000
    flagged = report.flagged()
    for v in flagged["visits"]:  # an integer column prints as integers
        assert f">{v:,}<" in section
    for v in flagged["mean radius"]:
        assert f">{fmt_number(v)}<" in section


@pytest.mark.parametrize(
    ("value", "text"),
    [(22.0, "22"), (0.123456, "0.1235"), (12345.6, "12,346"), (5, "5"), (np.int64(1234), "1,234"),
     (float("nan"), "–"), (None, "–"), (1.5e-5, "1.5e-05"), (-3.14159, "-3.142"),
     (-0.0, "0"), (True, "True"), ("x", "x")],
)  # fmt: skip
def test_fmt_number(value, text):
    assert fmt_number(value) == text


# ------------------------------------------------------------------ slices
def test_slices_sorted_by_value_with_human_headers(report):
    sl = report.slices("mean radius")
    lefts = [float(str(g).split(" – ")[0]) for g in sl.index]
    assert lefts == sorted(lefts) and len(lefts) == 4
    assert list(report.slices().index) == ["0", "1"]
    html = render_html(report)
    for raw in ("epsilon_lb", "non_members", "balanced_accuracy"):
        assert raw not in html
    assert html.count("ε ≥ (95%, per threshold)") >= 3  # risk table and both slice tables


def test_value_groups_order_and_masking():
    values = pd.Series(["b", "a", None, "c", "a"])
    groups = value_groups(values, masked=False)
    assert groups.order == ["a", "b", "c", "missing"]
    masked = value_groups(values, masked=True)
    assert masked.order == ["group 1", "group 2", "group 3", "group 4"]
    assert masked.labels.tolist() == ["group 2", "group 1", "group 4", "group 3", "group 1"]


# ------------------------------------------------------------------ highlight / verdict
def test_highlight_and_verdict_line(report):
    html = render_html(report, highlight="gap", verdict="Risk: LOW. A plain sentence.")
    body = html.split("</style>", 1)[1]
    assert body.startswith("<p class='mia-verdict'") and "Risk: LOW. A plain sentence." in body
    marked = re.findall(r'<tr class="mia-risk-high"[^>]*>(.*?)</tr>', html)
    assert len(marked) == 1 and "[gap]" in marked[0]
    assert "top 5 by Label-only gap" in html
    none = render_html(report, highlight=None)
    assert 'class="mia-risk-high"' not in none and "No records listed" in none
    assert render_text(report, verdict="Risk: LOW.").splitlines()[0] == "Risk: LOW."


# ------------------------------------------------------------------ architecture
def test_no_render_artefacts_in_the_report(report):
    view = report.with_options(fpr=(0.05,))
    view.to_html()
    for key, value in view._memo.items():
        assert not isinstance(value, bytes), key
        assert not (isinstance(value, str) and "<" in value), key  # no HTML
        assert key[0] not in ("roc_png", "roc_canvas", "versions_html", "record_html"), key
        assert "matplotlib" not in type(value).__module__, key
    assert memo.memoized(view, ("roc_canvas",), lambda: None) is not None


def test_engine_imports_nothing_from_the_layers_above():
    for path in (ROOT / "mia_notebook" / "engine").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        depth = len(path.relative_to(ROOT / "mia_notebook" / "engine").parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                target = node.module or ""
                if node.level > depth:  # climbs out of the engine
                    pytest.fail(f"{path.name} imports from {'.' * node.level}{target}")
                assert not target.startswith(("mia_notebook.render", "mia_notebook.report")), path


def test_without_a_renderer_reports_say_how_to_fix(report):
    factory = RENDERER._factory
    set_renderer(None)
    try:
        with pytest.raises(mn.MiaError, match="renderer"):
            report.to_html()
        assert repr(report).startswith("<AuditReport")
    finally:
        set_renderer(factory)
    assert repr(report).startswith(str(report.verdict))


def test_the_renderer_is_imported_on_first_display_not_on_import():
    code = (
        "import sys, mia_notebook as mn, pandas as pd\n"
        "before = sorted(m for m in sys.modules if m.startswith('mia_notebook.render'))\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "df = pd.DataFrame({'x': range(40), 'y': [0, 0, 1, 1] * 10})\n"
        "clf = LogisticRegression().fit(df[['x']], df['y'])\n"
        "rep = mn.audit(clf, train=df[::2], test=df[1::2], target='y', attacks='loss',"
        " progress=False)\n"
        "mid = sorted(m for m in sys.modules if m.startswith('mia_notebook.render'))\n"
        "text = repr(rep)\n"
        "after = 'mia_notebook.render.text' in sys.modules\n"
        "print(before, mid, after, text.startswith('Privacy risk'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.split() == ["[]", "[]", "True", "True"], out.stderr


def test_the_removed_shims_are_gone():
    for name in ("mia_notebook.report", "mia_notebook.widgets", "mia_notebook.engine.spec"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(name)
    assert not hasattr(mn, "CACHE")


def test_package_and_engine_versions_agree():
    from mia_notebook.engine._version import __version__ as engine_version

    assert mn.__version__ == engine_version


# ------------------------------------------------------------------ most exposed group
def test_auc_with_variance_matches_sklearn_and_bootstrap():
    from sklearn.metrics import roc_auc_score

    from mia_notebook.engine.grouping import auc_with_variance

    rng = np.random.default_rng(1)
    members = rng.random(400) < 0.5
    scores = rng.normal(size=400).round(1) + 0.6 * members  # with ties
    auc, var = auc_with_variance(scores, members)
    assert auc == pytest.approx(roc_auc_score(members, scores), abs=1e-12)
    boot = []  # slow reference: the bootstrap variance of the AUC
    for _ in range(2000):
        i = rng.integers(0, 400, 400)
        if 0 < members[i].sum() < 400:
            boot.append(roc_auc_score(members[i], scores[i]))
    assert var == pytest.approx(np.var(boot), rel=0.2)


def _grouped(labels: np.ndarray) -> ValueGroups:
    return value_groups(pd.Series(labels), masked=False)


def test_exposed_group_finds_a_leaking_group_and_no_false_alarms():
    from mia_notebook.engine.grouping import exposed_group

    alarms = 0
    for seed in range(20):  # membership-independent scores: nothing to find
        rng = np.random.default_rng(seed)
        labels = rng.choice(["a", "b", "c", "d"], 2000)
        members = rng.random(2000) < 0.5
        scores = rng.normal(size=2000)
        alarms += exposed_group(scores, members, _grouped(labels), confidence=0.95) is not None
    assert alarms <= 1
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b", "c", "d"], 2000)
    members = rng.random(2000) < 0.5
    scores = rng.normal(size=2000) + 1.0 * (members & (labels == "c"))
    found = exposed_group(scores, members, _grouped(labels), confidence=0.95)
    assert found is not None and found.label == "c" and found.n_tested == 4
    assert found.auc > found.auc_rest and found.p_value < 0.05 / 4


def test_exposed_group_sentence_in_html(report):
    html = render_html(report)
    for col in ("label", "mean radius"):
        found = report.exposed_group(col)
        section = html.split(f"<h4>By {col}", 1)[1].split("<table", 1)[0]
        assert ("Most exposed:" in section) == (found is not None)
        if found is not None:
            assert f"{col} = {found.label}" in section
