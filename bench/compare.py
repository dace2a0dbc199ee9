"""Side by side with the established membership-inference libraries.

Run: ``python -m bench.compare`` (writes section "compare" of ``bench/results.md``).

For each dataset x model family, one fitted target model and one member/non-member split
are shared by every tool:

* mia_notebook: the threshold attacks, and the reference attacks (LiRA, RMIA, shadow)
  when the package has them;
* IBM ART: ``MembershipInferenceBlackBox`` (several attack-model types),
  ``MembershipInferenceBlackBoxRuleBased``, ``ShadowModels`` + a black-box attack;
* TensorFlow Privacy's membership-inference attacks, run in a separate virtualenv
  (``$TFP_PYTHON``, default ``/tmp/tfp-venv/bin/python``) because the package pins
  numpy 1.x / pandas 1.x; skipped with a note when that interpreter is missing.

Every tool's per-record membership scores (or probabilities) on the same evaluation
records go through one function, :func:`mia_notebook.engine.metrics.attack_metrics`.

Protocol, per dataset (seeded, stratified): 40 % members (the target's training set),
40 % non-members, 20 % auxiliary records from the same distribution. Members and
non-members are each halved: the *attack-training* halves are given (with their
membership) to the attacks that learn from labelled target data (ART's black-box attack
models, TF Privacy's trained attackers); every metric is computed on the other halves,
the *evaluation* records, for every tool. Threshold and rule-based attacks do not
train; shadow-model attacks (ART ShadowModels, our reference attacks) get the auxiliary
records as their population.

Options: ``--quick`` (one small configuration, for a smoke test), ``--no-write``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SEED = 0
FPRS = (0.01, 0.001)
N_REFERENCES = 16
ART_BLACKBOX_TYPES = ("nn", "rf", "gb", "lr")
TFP_TRAINED = (
    "LOGISTIC_REGRESSION",
    "MULTI_LAYERED_PERCEPTRON",
    "RANDOM_FOREST",
    "K_NEAREST_NEIGHBORS",
)
TFP_LABELS = {
    "THRESHOLD_ATTACK": "threshold (loss)",
    "THRESHOLD_ENTROPY_ATTACK": "threshold (modified entropy)",
}
TFP_PYTHON = os.environ.get("TFP_PYTHON", "/tmp/tfp-venv/bin/python")


# ------------------------------------------------------------------ data and models
@dataclass
class Dataset:
    name: str
    X: np.ndarray
    y: np.ndarray
    source: str


def load_datasets(quick: bool = False) -> list[Dataset]:
    from sklearn.datasets import load_digits, make_classification

    X, y = make_classification(
        n_samples=3_000 if quick else 6_000,
        n_features=20,
        n_informative=10,
        n_redundant=4,
        flip_y=0.05,
        class_sep=0.8,
        random_state=SEED,
    )
    out = [
        Dataset(
            "synthetic", X, y, f"`make_classification` {len(y):,} × 20, 2 classes, 5 % label noise"
        )
    ]
    if quick:
        return out
    from statsmodels.datasets import fair

    df = fair.load_pandas().data
    out.append(
        Dataset(
            "fair",
            df.drop(columns="affairs").to_numpy(dtype=float),
            (df["affairs"] > 0).to_numpy(dtype=np.int64),
            f"statsmodels `fair` (real survey data) {len(df):,} × 8, target affairs > 0",
        )
    )
    d = load_digits()
    out.append(
        Dataset(
            "digits",
            d.data.astype(float),
            d.target.astype(np.int64),
            f"sklearn `digits` {len(d.target):,} × 64, 10 classes",
        )
    )
    return out


def model_families() -> dict[str, Callable[[], Any]]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "RandomForest": lambda: RandomForestClassifier(n_estimators=100, random_state=SEED),
        "MLP": lambda: make_pipeline(
            StandardScaler(),
            MLPClassifier(hidden_layer_sizes=(64,), max_iter=300, random_state=SEED),
        ),
    }


@dataclass
class Split:
    """Indices into the dataset: members, non-members, auxiliary; eval halves."""

    mem: np.ndarray
    non: np.ndarray
    aux: np.ndarray
    mem_eval: np.ndarray  # bool over mem
    non_eval: np.ndarray  # bool over non

    @property
    def members_eval(self) -> np.ndarray:
        """Membership of the evaluation records, members first."""
        return np.r_[
            np.ones(int(self.mem_eval.sum()), bool), np.zeros(int(self.non_eval.sum()), bool)
        ]


def make_split(y: np.ndarray, seed: int = SEED) -> Split:
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    target_idx, aux = train_test_split(idx, test_size=0.2, stratify=y, random_state=seed)
    mem, non = train_test_split(
        target_idx, test_size=0.5, stratify=y[target_idx], random_state=seed + 1
    )
    rng = np.random.default_rng(seed + 2)

    def half(n: int) -> np.ndarray:
        mask = np.zeros(n, bool)
        mask[rng.permutation(n)[: n // 2]] = True
        return mask

    return Split(mem=mem, non=non, aux=aux, mem_eval=half(len(mem)), non_eval=half(len(non)))


def frame(X: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["label"] = y
    return df


# ------------------------------------------------------------------ results
@dataclass
class Row:
    tool: str
    attack: str
    scores: np.ndarray | None  # on the evaluation records, members first
    seconds: float
    note: str = ""
    error: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


def score_rows(rows: list[Row], members_eval: np.ndarray) -> None:
    """The same metric function for every tool."""
    from mia_notebook.engine.metrics import attack_metrics

    for r in rows:
        if r.scores is None:
            continue
        s = np.asarray(r.scores, dtype=np.float64).ravel()
        met = attack_metrics(s, members_eval, FPRS)
        r.metrics = {"auc": met.auc}
        for t in met.tpr:
            r.metrics[t.target] = (t.tpr, t.resolvable, t.coarse)


def _timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = fn()
    return np.asarray(out, dtype=np.float64).ravel(), time.perf_counter() - t0


def _safe(
    rows: list[Row], tool: str, attack: str, fn: Callable[[], np.ndarray], note: str = ""
) -> None:
    try:
        scores, secs = _timed(fn)
        rows.append(Row(tool, attack, scores, secs, note))
    except Exception as e:  # a peer failing is a result, not a crash of the benchmark
        msg = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
        print(f"    {tool} {attack} FAILED: {msg}", flush=True)
        rows.append(Row(tool, attack, None, math.nan, note, error=msg[:160]))


# ------------------------------------------------------------------ our attacks
def reference_attacks_available() -> tuple[bool, str]:
    import inspect

    import mia_notebook

    names = mia_notebook.available_attacks()
    if "lira" not in names:
        return False, "'lira' is not registered"
    if "references" not in inspect.signature(mia_notebook.audit).parameters:
        return False, "audit() has no 'references' parameter"
    return True, ""


def run_ours(model: Any, ds: Dataset, sp: Split) -> list[Row]:
    import mia_notebook
    from mia_notebook.engine.attacks import attack_class

    train = frame(ds.X[sp.mem], ds.y[sp.mem])
    test = frame(ds.X[sp.non], ds.y[sp.non])
    eval_rows = np.r_[sp.mem_eval, sp.non_eval]
    rows: list[Row] = []
    names = mia_notebook.available_attacks()
    for name in [n for n in names if not attack_class(n).needs_references]:

        def one(name: str = name) -> np.ndarray:
            mia_notebook.clear_cache()
            rep = mia_notebook.audit(model, train=train, test=test, target="label", attacks=[name])
            return rep.scores[name].to_numpy()[eval_rows]

        _safe(rows, "mia_notebook", name, one, "threshold; one audit() call each")
    ok, _ = reference_attacks_available()
    if not ok:
        return rows
    ref_names = [n for n in names if attack_class(n).needs_references]
    population = frame(ds.X[sp.aux], ds.y[sp.aux])
    mia_notebook.clear_cache()
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = mia_notebook.audit(
                model,
                train=train,
                test=test,
                target="label",
                attacks=ref_names,
                references=N_REFERENCES,
                population=population,
                progress=False,
                seed=SEED,
            )
        secs = time.perf_counter() - t0
        got = [n for n in ref_names if n in rep.scores.columns]
        for name in got:
            rows.append(
                Row(
                    "mia_notebook",
                    name,
                    rep.scores[name].to_numpy()[eval_rows],
                    secs,
                    f"{N_REFERENCES} references on train ∪ test ∪ aux; one audit() "
                    f"call for all {len(got)} reference attacks",
                )
            )
        for name, why in rep.skipped.items():
            rows.append(Row("mia_notebook", name, None, math.nan, error=f"skipped: {why}"))
    except Exception as e:
        msg = f"{type(e).__name__}: {str(e).strip().splitlines()[0]}"
        print(f"    mia_notebook references FAILED: {msg}", flush=True)
        rows.append(Row("mia_notebook", ",".join(ref_names), None, math.nan, error=msg[:160]))
    return rows


# ------------------------------------------------------------------ IBM ART
def _art_classifier(model: Any) -> Any:
    from art.estimators.classification import SklearnClassifier

    return SklearnClassifier(model=model)


def run_art(model: Any, make_model: Callable[[], Any], ds: Dataset, sp: Split) -> list[Row]:
    from art.attacks.inference.membership_inference import (
        MembershipInferenceBlackBox,
        MembershipInferenceBlackBoxRuleBased,
        ShadowModels,
    )

    est = _art_classifier(model)
    xm, ym = ds.X[sp.mem], ds.y[sp.mem]
    xn, yn = ds.X[sp.non], ds.y[sp.non]
    x_eval = np.r_[xm[sp.mem_eval], xn[sp.non_eval]]
    y_eval = np.r_[ym[sp.mem_eval], yn[sp.non_eval]]
    rows: list[Row] = []

    for kind in ART_BLACKBOX_TYPES:

        def blackbox(kind: str = kind) -> np.ndarray:
            _seed_everything()
            att = MembershipInferenceBlackBox(est, attack_model_type=kind, input_type="prediction")
            att.fit(
                x=xm[~sp.mem_eval],
                y=ym[~sp.mem_eval],
                test_x=xn[~sp.non_eval],
                test_y=yn[~sp.non_eval],
            )
            return att.infer(x_eval, y_eval, probabilities=True)[:, 0]

        _safe(
            rows,
            "ART",
            f"BlackBox {kind}",
            blackbox,
            "attack model trained on the attack-training halves",
        )

    def rule_based() -> np.ndarray:
        att = MembershipInferenceBlackBoxRuleBased(est)
        # probabilities=False: its probabilities=True output is mis-indexed for binary
        # models in ART 1.20 (prob[:, predicted_class] = ...), so use the 0/1 decisions.
        return att.infer(x_eval, y_eval)

    _safe(rows, "ART", "RuleBased", rule_based, "0/1 decision: prediction correct")

    def shadow() -> np.ndarray:
        _seed_everything()
        # ART's clone_for_refitting() fails on a never-fitted sklearn wrapper ("nb_classes
        # must be greater than or equal to 2"), so the template is fitted on the auxiliary
        # records first; ShadowModels then clones and refits it.
        template = _art_classifier(make_model().fit(ds.X[sp.aux], ds.y[sp.aux]))
        sm = ShadowModels(template, num_shadow_models=3, random_state=SEED)
        y_aux = np.searchsorted(np.unique(ds.y), ds.y[sp.aux])
        onehot = np.eye(len(np.unique(ds.y)))[y_aux]  # ShadowModels wants one-hot labels
        (mx, my, mp), (nx, ny, npred) = sm.generate_shadow_dataset(ds.X[sp.aux], onehot)
        att = MembershipInferenceBlackBox(est, attack_model_type="rf")
        att.fit(mx, my, nx, ny, mp, npred)
        return att.infer(x_eval, y_eval, probabilities=True)[:, 0]

    _safe(
        rows,
        "ART",
        "ShadowModels ×3 + BlackBox rf",
        shadow,
        "3 shadow models on the auxiliary records",
    )
    return rows


def _seed_everything() -> None:
    np.random.seed(SEED)
    try:
        import torch

        torch.manual_seed(SEED)
        # One thread: ART's attack MLP is tiny, and on a shared 2-core machine torch's
        # default intra-op threads made its training ~4x slower (100 s vs 24 s measured).
        torch.set_num_threads(1)
    except ImportError:
        pass


# ------------------------------------------------------------------ TF Privacy
_TFP_WORKER = r"""
import json, sys, time
import numpy as np
sys.skip_tf_privacy_import = True  # the package's hook: skip the TensorFlow-only modules
from tensorflow_privacy.privacy.privacy_tests.membership_inference_attack import (
    data_structures as ds, membership_inference_attack as mia, models)
import tensorflow_privacy
d = np.load(sys.argv[1])
probs, labels, member, is_eval = d["probs"], d["labels"], d["member"], d["is_eval"]
# Log-probabilities as logits (softmax(log p) = p): TFP's entropy attack reads only
# logits (with probs_* it fails on a None array), so give every TFP attack the same logits.
logits = np.log(np.clip(probs, 1e-12, 1.0))
inp = ds.AttackInputData(logits_train=logits[member], logits_test=logits[~member],
                         labels_train=labels[member], labels_test=labels[~member])
order_eval = np.r_[is_eval[member], is_eval[~member]]  # members first, as TFP orders them
out, secs, errors = {}, {}, {}
for name in ("THRESHOLD_ATTACK", "THRESHOLD_ENTROPY_ATTACK"):
    t0 = time.perf_counter()
    res = mia.run_attacks(inp, ds.SlicingSpec(entire_dataset=True, by_class=False),
                          attack_types=[getattr(ds.AttackType, name)])
    r = res.single_attack_results[0]
    s = np.r_[r.membership_scores_train, r.membership_scores_test]
    secs[name] = time.perf_counter() - t0
    out[name] = s[order_eval]
train_rows = ~order_eval
for name in sys.argv[3].split(","):
    t0 = time.perf_counter()
    try:
        np.random.seed(0)
        data = models.create_attacker_data(inp, balance=False)
        att = models.create_attacker(getattr(ds.AttackType, name))
        att.train_model(data.features_all[train_rows], data.labels_all[train_rows])
        out[name] = att.predict(data.features_all[order_eval])
    except Exception as e:
        errors[name] = f"{type(e).__name__}: {e}"[:160]
    secs[name] = time.perf_counter() - t0
np.savez(sys.argv[2], **out)
import numpy, sklearn, pandas
print(json.dumps({"seconds": secs, "errors": errors, "versions": {
    "tensorflow-privacy": tensorflow_privacy.__version__, "numpy": numpy.__version__,
    "scikit-learn": sklearn.__version__, "pandas": pandas.__version__}}))
"""


def tfp_status() -> tuple[bool, str]:
    if not os.path.exists(TFP_PYTHON):
        return False, (
            f"no interpreter at {TFP_PYTHON} (set TFP_PYTHON; see bench/README.md "
            "for the separate virtualenv it needs)"
        )
    return True, ""


def run_tfp(model: Any, ds: Dataset, sp: Split) -> tuple[list[Row], dict[str, str]]:
    if not tfp_status()[0]:
        return [], {}
    idx = np.r_[sp.mem, sp.non]
    member = np.r_[np.ones(len(sp.mem), bool), np.zeros(len(sp.non), bool)]
    is_eval = np.r_[sp.mem_eval, sp.non_eval]
    t0 = time.perf_counter()
    probs = model.predict_proba(ds.X[idx])  # the same fitted model, queried once
    query_s = time.perf_counter() - t0
    classes = np.asarray(model.classes_)
    labels = np.searchsorted(classes, ds.y[idx])
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
        np.savez(src, probs=probs, labels=labels, member=member, is_eval=is_eval)
        proc = subprocess.run(
            [TFP_PYTHON, "-c", _TFP_WORKER, src, dst, ",".join(TFP_TRAINED)],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        if proc.returncode != 0:
            tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
            print(f"    TF Privacy FAILED: {tail}", flush=True)
            return [Row("TF Privacy", "all", None, math.nan, error=tail[:160])], {}
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        scores = np.load(dst)
        for name, secs in info["seconds"].items():
            label = TFP_LABELS.get(name, name.replace("_", " ").lower())
            note = (
                "trained on the attack-training halves (TFP's grid search)"
                if name in TFP_TRAINED
                else "on all evaluation records"
            )
            if name in info["errors"]:
                rows.append(
                    Row("TF Privacy", label, None, math.nan, note, error=info["errors"][name])
                )
            else:
                # the target's predict_proba, shared by every TFP attack, is counted in each
                rows.append(Row("TF Privacy", label, scores[name], secs + query_s, note))
    return rows, info["versions"]


# ------------------------------------------------------------------ report
def _cell(r: Row, t: float) -> str:
    val, resolvable, coarse = r.metrics[t]
    if not resolvable:
        return "n/a"
    return f"{val:.3f}" + ("†" if coarse else "")


def _table(rows: list[Row]) -> str:
    lines = [
        "| tool | attack | AUC | TPR@1%FPR | TPR@0.1%FPR | wall s | notes |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.error:
            lines.append(f"| {r.tool} | {r.attack} | – | – | – | – | {r.error} |")
            continue
        lines.append(
            f"| {r.tool} | {r.attack} | {r.metrics['auc']:.3f} | {_cell(r, 0.01)} | "
            f"{_cell(r, 0.001)} | {r.seconds:.2f} | {r.note} |"
        )
    return "\n".join(lines)


def _best(
    rows: list[Row], tool: str, family: Callable[[Row], bool] | None = None
) -> tuple[str, str, str]:
    ok = [r for r in rows if r.tool == tool and not r.error and (family is None or family(r))]
    if not ok:
        return "–", "–", "–"
    auc = max(ok, key=lambda r: r.metrics["auc"])
    out = [f"{auc.metrics['auc']:.3f} ({auc.attack})"]
    for t in FPRS:
        res = [r for r in ok if r.metrics[t][1]]
        if not res:
            out.append("n/a")
            continue
        b = max(res, key=lambda r: r.metrics[t][0])
        out.append(f"{b.metrics[t][0]:.3f} ({b.attack})")
    return out[0], out[1], out[2]


def _is_ref(r: Row) -> bool:
    return "references" in r.note


def headline(configs: list[tuple[str, str, list[Row]]]) -> str:
    lines = [
        "| dataset · model | tool | best AUC | best TPR@1%FPR | best TPR@0.1%FPR |",
        "|---|---|---|---|---|",
    ]
    for ds_name, model_name, rows in configs:
        groups: list[tuple[str, str, Callable[[Row], bool] | None]] = [
            ("mia_notebook threshold", "mia_notebook", lambda r: not _is_ref(r)),
            ("mia_notebook reference", "mia_notebook", _is_ref),
            ("ART", "ART", None),
            ("TF Privacy", "TF Privacy", None),
        ]
        for label, tool, fam in groups:
            a, b, c = _best(rows, tool, fam)
            if a == "–":
                continue
            lines.append(f"| {ds_name} · {model_name} | {label} | {a} | {b} | {c} |")
    return "\n".join(lines)


def _versions(tfp_versions: dict[str, str]) -> str:
    import art
    import pandas
    import scipy
    import sklearn

    import mia_notebook

    parts = [
        f"mia_notebook {mia_notebook.__version__}",
        f"adversarial-robustness-toolbox {art.__version__}",
    ]
    try:
        import torch

        parts.append(f"torch {torch.__version__} (ART's 'nn' attack model)")
    except ImportError:
        parts.append("torch not installed (ART 'nn' unavailable)")
    parts += [
        f"scikit-learn {sklearn.__version__}",
        f"numpy {np.__version__}",
        f"pandas {pandas.__version__}",
        f"scipy {scipy.__version__}",
    ]
    if tfp_versions:
        parts.append(
            f"tensorflow-privacy {tfp_versions['tensorflow-privacy']} in a separate venv "
            f"(numpy {tfp_versions['numpy']}, scikit-learn {tfp_versions['scikit-learn']}, "
            f"pandas {tfp_versions['pandas']}; no TensorFlow)"
        )
    return " · ".join(parts)


def package_state() -> str:
    """Commit of the package measured, and whether mia_notebook/ had uncommitted changes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "mia_notebook"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)"
    if not dirty:
        return f"commit {head}"
    return (
        f"commit {head} plus {len(dirty.splitlines())} uncommitted file(s) in "
        "mia_notebook/ (work in progress of other engineers)"
    )


# ------------------------------------------------------------------ main
def run_config(
    ds: Dataset, model_name: str, make_model: Callable[[], Any]
) -> tuple[list[Row], dict[str, str], dict[str, Any]]:
    sp = make_split(ds.y)
    model = make_model()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(ds.X[sp.mem], ds.y[sp.mem])
    fit_s = time.perf_counter() - t0
    info = {
        "fit_s": fit_s,
        "train_acc": float(model.score(ds.X[sp.mem], ds.y[sp.mem])),
        "test_acc": float(model.score(ds.X[sp.non], ds.y[sp.non])),
        "n_eval": (int(sp.mem_eval.sum()), int(sp.non_eval.sum())),
        "n_attack_train": (int((~sp.mem_eval).sum()), int((~sp.non_eval).sum())),
        "n_aux": len(sp.aux),
    }
    rows: list[Row] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows += run_ours(model, ds, sp)
        rows += run_art(model, make_model, ds, sp)
        tfp_rows, tfp_versions = run_tfp(model, ds, sp)
    rows += tfp_rows
    score_rows(rows, sp.members_eval)
    return rows, tfp_versions, info


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one small configuration")
    parser.add_argument("--no-write", action="store_true", help="do not write results.md")
    args = parser.parse_args(argv)
    from bench._results import machine, max_rss_mib, write_section

    state = package_state()  # now: the code measured is the code imported at start
    t_start = time.perf_counter()
    datasets = load_datasets(args.quick)
    families = model_families()
    if args.quick:
        families = {"RandomForest": families["RandomForest"]}
    configs: list[tuple[str, str, list[Row]]] = []
    details: list[str] = []
    tfp_versions: dict[str, str] = {}
    for ds in datasets:
        for model_name, make_model in families.items():
            print(f"{ds.name} · {model_name}", flush=True)
            rows, v, info = run_config(ds, model_name, make_model)
            tfp_versions = tfp_versions or v
            configs.append((ds.name, model_name, rows))
            for r in rows:
                if r.error:
                    print(f"  {r.tool:13s} {r.attack:32s} ERROR {r.error}", flush=True)
                else:
                    print(
                        f"  {r.tool:13s} {r.attack:32s} AUC {r.metrics['auc']:.3f} "
                        f"TPR@1% {_cell(r, 0.01):>7s} TPR@0.1% {_cell(r, 0.001):>7s} "
                        f"{r.seconds:7.2f}s",
                        flush=True,
                    )
            details += [
                f"#### {ds.name} · {model_name}",
                "",
                f"{ds.source}. Target fit {info['fit_s']:.1f} s; accuracy on members "
                f"{info['train_acc']:.3f}, on non-members {info['test_acc']:.3f}. "
                f"Evaluation records: {info['n_eval'][0]:,} members + {info['n_eval'][1]:,} "
                f"non-members; attack-training: {info['n_attack_train'][0]:,} + "
                f"{info['n_attack_train'][1]:,}; auxiliary: {info['n_aux']:,}.",
                "",
                _table(rows),
                "",
            ]
    total_min = (time.perf_counter() - t_start) / 60
    ok, why = tfp_status()
    ref_ok, ref_why = reference_attacks_available()
    md = [
        "## Compare: mia_notebook vs IBM ART vs TensorFlow Privacy",
        "",
        f"Re-run: `python -m bench.compare` (this run took {total_min:.1f} min, peak RSS "
        f"{max_rss_mib():.0f} MiB{', --quick' if args.quick else ''}). Benchmark-only "
        "dependencies: `bench/requirements.txt`.",
        "",
        f"Measured {machine()}. **Other engineers' work was running concurrently on the "
        "same 2 cores**, so wall times carry noise (they are upper bounds).",
        "",
        f"Versions: {_versions(tfp_versions)}. Package measured: {state}.",
        "",
        "**Protocol.** Per dataset (seeded, stratified): 40 % members (the target model's "
        "training set), 40 % non-members, 20 % auxiliary records. Members and non-members "
        "are each split in half: the *attack-training* halves, with their membership, go "
        "to the attacks that learn from labelled target data (ART `MembershipInference"
        "BlackBox`, TF Privacy's trained attackers); **every number below is computed on "
        "the other halves (the evaluation records), for every tool, by the same function** "
        "(`mia_notebook.engine.metrics.attack_metrics` on the tool's per-record membership "
        "scores or probabilities). Threshold and rule-based attacks learn nothing. ART "
        "`ShadowModels` (3 shadow models, then a `BlackBox` rf attack model) and our "
        f"reference attacks ({N_REFERENCES} references, `population=` the auxiliary "
        "records) see the auxiliary records but no membership labels of the target. "
        "TF Privacy gets log-probabilities as its logits (its entropy attack reads only "
        "logits) and runs without TensorFlow through the package's own "
        "`sys.skip_tf_privacy_import` hook (its membership-inference code is "
        "numpy/scikit-learn). ART's `nn` attack model runs with `torch.set_num_threads(1)` "
        "(4x faster than the default here). "
        "Wall time: each attack's own fit + inference, target-model queries included; "
        "our reference attacks share one `audit()` call (the reference models are "
        "trained once for all of them), so each of those rows shows that call's time. "
        "TPR cells say n/a when the evaluation split has fewer than 1/FPR non-members; "
        "† marks a TPR limited by tied scores (a 0/1 score cannot reach a low FPR).",
        "",
    ]
    if not ref_ok:
        md += [f"Our reference attacks were not run: {ref_why}.", ""]
    if not ok:
        md += [f"TF Privacy was not run: {why}.", ""]
    md += [
        "### Best per tool (attack in brackets)",
        "",
        headline(configs),
        "",
        "### Every attack",
        "",
        *details,
    ]
    text = "\n".join(md)
    print(text)
    if not args.no_write:
        path = write_section("compare", text)
        print(f"wrote section 'compare' of {path}")


if __name__ == "__main__":
    main()
