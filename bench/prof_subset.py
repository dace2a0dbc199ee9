"""Profile the panel's "attacks shown, new subset (cold)" change on the bench's 100k forest.

Run: ``python -m bench.prof_subset [N [ORDER]]``: times each cold subset (as bench.widgets
does), then prints the cProfile of the whole sequence (sorted by ORDER, e.g. tottime)."""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

from bench.widgets import _data, threshold_attacks


def main() -> None:
    import mia_notebook as mn
    from mia_notebook.panel import AuditPanel
    from mia_notebook.panel import view as panel_view

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    train, test, clf, feats = _data(n, "forest")
    attacks = threshold_attacks()
    report = mn.audit(clf, train=train, test=test, target="label", features=feats,
                      attacks=attacks, redact=["name"], progress=False)  # fmt: skip
    panel = AuditPanel(report, model=clf)
    panel.warming.join()
    panel_view.update_display = lambda *a, **k: None
    panel._displayed = True
    subsets = [tuple(attacks[:k]) for k in range(len(attacks) - 1, 0, -1)]
    prof = cProfile.Profile()
    for subset in subsets:
        t = time.perf_counter()
        prof.enable()
        panel.attacks.value = subset
        prof.disable()
        parts = {k: round(v * 1e3, 1) for k, v in panel.timings.items()}
        print(len(subset), f"{(time.perf_counter() - t) * 1e3:.1f} ms", parts)
    order = sys.argv[2] if len(sys.argv) > 2 else "cumulative"
    pstats.Stats(prof).sort_stats(order).print_stats(45)


if __name__ == "__main__":
    main()
