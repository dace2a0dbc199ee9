"""The render layer's caches for a new view of one audit (a new subset of shown attacks
in the panel): the ROC legend composed from per-entry tiles, the PNG encoder, and the
HTML and extension JSON memoized per attack rather than per subset."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from test_render import ATTACKS, build_report

import mia_notebook as mn
from mia_notebook.render import memo
from mia_notebook.render.headline import AUTO
from mia_notebook.render.html import render_html
from mia_notebook.render.mime import report_payload


@pytest.fixture(scope="module")
def report(cancer_splits: tuple[pd.DataFrame, pd.DataFrame]) -> mn.AuditReport:
    return build_report(cancer_splits, attacks=ATTACKS)


def test_roc_png_legend_composed_from_tiles_is_the_drawn_legend(report):
    """The PNG's legend is stacked from entries rasterised once per audit: for every
    subset of shown attacks and highlighted attack it is the legend matplotlib draws
    whole, each entry at most one pixel higher or lower (entries are placed on whole
    pixels); the curves are untouched, and a subset shown again reuses every entry."""
    from mia_notebook.render.plots import _roc_canvas, verdict_fpr

    canvas = _roc_canvas(report)
    right = int(np.ceil(canvas.ax.bbox.x1)) + 2  # pixel columns of the legend
    shown = report.computed_attacks
    for k, highlight in ((len(shown), "gap"), (3, None), (2, shown[0]), (1, shown[0])):
        view = report.with_options(show=tuple(shown[:k]))
        marker = verdict_fpr(view)
        composed = png_pixels(canvas.png(view, highlight, marker))
        drawn = png_pixels(canvas.png(view, highlight, marker, tiles=False))
        assert composed.shape == drawn.shape
        assert np.array_equal(composed[:, :right], drawn[:, :right]), (k, highlight)
        # Text is rendered at sub-pixel positions: a tile shifted by under half a pixel
        # shades glyph edges differently, never a glyph's core (a missing, misplaced or
        # overlapping entry differs by ~255 there).
        diff = np.abs(composed[:, right:].astype(int) - drawn[:, right:]).max(axis=-1)
        assert diff.max() <= 128 and diff.mean() < 2, (k, highlight, diff.max(), diff.mean())
        ink, want = (255 - px[:, right:].min(axis=-1).astype(int) for px in (composed, drawn))
        assert want.sum() > 100_000 and abs(ink.sum() / want.sum() - 1) < 0.01, (k, highlight)
    tiles = len(canvas.tiles)
    view = report.with_options(show=tuple(shown[:3]))
    canvas.png(view, None, verdict_fpr(view))
    assert len(canvas.tiles) == tiles


def png_pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_png_encoder_round_trips_through_pillow():
    from mia_notebook.render.pngenc import encode_png

    rng = np.random.default_rng(0)
    rgb = np.full((37, 53, 3), 255, dtype=np.uint8)
    rgb[5:30, 7:40] = rng.integers(0, 256, size=(25, 33, 3), dtype=np.uint8)
    for level in (1, 9):
        assert np.array_equal(png_pixels(encode_png(rgb, level)), rgb)
    assert np.array_equal(png_pixels(encode_png(rgb[:, ::2])), rgb[:, ::2])  # strided view
    with pytest.raises(ValueError):
        encode_png(rgb[..., 0])


def test_views_rendered_after_other_subsets_equal_fresh_renders(report):
    """HTML (with its PNG) and JSON of each subset of shown attacks, flag count and
    highlighted attack, rendered after the others (memo and legend tiles shared), are
    those rendered from an empty memo."""
    shown = report.computed_attacks
    subsets = [tuple(shown[:k]) for k in range(len(shown), 0, -1)]
    subsets += [("gap", "loss"), ("entropy",), tuple(reversed(shown[2:]))]
    views = [report.with_options(show=s, flag=f) for s, f in itertools.product(subsets, (5, 2))]
    cases = [(v, h) for v in views for h in (AUTO, "gap", None) if h in (AUTO, None, *v.attacks)]
    memo.clear()
    warm = [(render_html(v, highlight=h), json.dumps(report_payload(v))) for v, h in cases]
    for (view, highlight), (html, payload) in zip(cases, warm, strict=True):
        memo.clear()
        assert render_html(view, highlight=highlight) == html, (view.attacks, highlight)
        assert json.dumps(report_payload(view)) == payload, view.attacks
    assert any("Rank among the members" in html for html, _ in warm)
    assert any("top 5 by Label-only gap" in html for html, _ in warm)


def test_warmed_legend_entries_serve_every_subset_and_draw_the_same(report):
    """After :func:`warm_roc_legend`, showing any subset of attacks draws no new legend
    entry, and its PNG is the one drawn from an empty memo."""
    from mia_notebook.render.plots import _roc_canvas, roc_png, warm_roc_legend

    memo.clear()
    assert warm_roc_legend(report, lambda: False) == 0
    parts = warm_roc_legend(report)
    groups = report.rank_groups(shown=False)
    assert parts == sum(2 ** len(g) - 1 for g in groups)  # every group has <= 4 attacks
    assert warm_roc_legend(report) == 0  # done once per audit
    canvas = _roc_canvas(report)
    tiles = len(canvas.tiles)
    shown = report.computed_attacks
    subsets = [s for k in (1, 2, 4) for s in itertools.combinations(shown, k)]
    pngs = {s: roc_png(report.with_options(show=s)) for s in subsets}
    assert len(canvas.tiles) == tiles
    for s in subsets[::5]:
        memo.clear()
        assert roc_png(report.with_options(show=s)) == pngs[s], s
