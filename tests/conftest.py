"""Shared fixtures: seeded data sets, fitted scikit-learn models (no downloads), and the
``browser`` marker's check for Debian's chromium."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import shutil
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def cancer_splits() -> tuple[pd.DataFrame, pd.DataFrame]:
    """sklearn's bundled breast-cancer data, split 50/50 (members, non-members)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    df = X.assign(label=y)
    tr, te = train_test_split(df, test_size=0.5, random_state=0, stratify=df["label"])
    return tr, te


@pytest.fixture(scope="session")
def synth_three_way() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Three disjoint seeded splits of one synthetic distribution (4,000 rows each)."""
    X, y = make_classification(
        n_samples=12_000, n_features=10, n_informative=6, n_classes=2, flip_y=0.1, random_state=7
    )
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).assign(label=y)
    a, rest = train_test_split(df, test_size=2 / 3, random_state=1)
    b, c = train_test_split(rest, test_size=0.5, random_state=2)
    return a, b, c


def fingerprint(obj: Any) -> str:
    """Hash of an object's full pickled state (models) or values+index (frames)."""
    if isinstance(obj, pd.DataFrame):
        h = hashlib.sha256(pd.util.hash_pandas_object(obj, index=True).to_numpy().tobytes())
        h.update(repr(list(obj.columns)).encode())
        h.update(repr(list(obj.dtypes)).encode())
        return h.hexdigest()
    return hashlib.sha256(pickle.dumps(obj)).hexdigest()


def features(df: pd.DataFrame, target: str = "label") -> pd.DataFrame:
    return df.drop(columns=[target])


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# ------------------------------------------------------------------ options
def fit_small(train_frame: pd.DataFrame) -> Any:
    """NON_DEFAULT's ``fit``: a logistic regression on the two features and ``label``
    (the magic's tests find it by name in the user namespace)."""
    from sklearn.linear_model import LogisticRegression

    X = train_frame[["mean radius", "mean texture"]]
    return LogisticRegression(max_iter=5000).fit(X, train_frame["label"])


#: A value other than the default for EVERY audit option, on the breast-cancer frames and
#: a model fitted on ``mean radius`` and ``mean texture``: the entry-point tests check that
#: each option reaches the audit from the magic's flags and ``%config``, compare() and the
#: panel's Run. tests/test_options.py checks this covers every field of AuditOptions.
NON_DEFAULT: dict[str, Any] = {
    "attacks": ("loss", "gap", "rmia-offline"),
    "features": ("mean radius", "mean texture"),
    "fpr": (0.01, 0.2),
    "flag": 3,
    "slice": "mean area",
    "redact": ("worst area",),
    "show": ("loss", "rmia-offline"),
    "seed": 4,
    "confidence": 0.9,
    "delta": 0.01,
    "policy": {"tpr_high": 0.3},
    "setting": "black-box",
    "references": 2,
    "reference_rounds": "fixed",
    "n_jobs": 1,
    "lira_variance": "global",
    "rmia_a": 0.3,
    "fit": fit_small,
    "outputs": "round:3",
    "person": "patient",  # a column with_patients() adds: one person per row
}


def with_patients(*frames: pd.DataFrame) -> list[pd.DataFrame]:
    """The frames with a ``patient`` column (the row's index: one patient per row), for
    NON_DEFAULT's ``person``."""
    return [f.assign(patient=f.index) for f in frames]


def flag_text(value: Any) -> str:
    """``value`` as the magic's ``--flag`` text (lists comma-separated, a dict k=v, a
    function its name)."""
    if callable(value):
        return str(value.__name__)
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# ------------------------------------------------------------------ browser tests
#: How to get the browser; the skip reason (and the README) say it.
CHROMIUM_HINT = (
    "Debian's chromium is not installed: apt-get install chromium "
    "(the browser tests drive it through Playwright; never `playwright install`)"
)


#: Flags for Debian's chromium here (Playwright adds --headless): no sandbox as root, and
#: no background traffic to hosts this closed network refuses (shared/GUIDE.md).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """Debian's chromium: ``$MIA_CHROMIUM`` if set, else ``chromium`` on PATH or in /usr/bin."""
    override = os.environ.get("MIA_CHROMIUM")
    if override is not None:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")


def _browser_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if chromium_path() is None:
        return CHROMIUM_HINT
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed: pip install -e '.[test]'"
    return None


def _skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail under CI, which installs the browser."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser tests)", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``browser`` skip (fail under ``CI``) before any fixture starts."""
    if item.get_closest_marker("browser") is not None:
        reason = _browser_missing()
        if reason is not None:
            _skip_or_fail(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's chromium for Playwright's ``executable_path`` (mark tests ``browser``)."""
    reason = _browser_missing()
    if reason is not None:
        _skip_or_fail(reason)
    return str(chromium_path())
