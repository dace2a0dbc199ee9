"""A kernel interrupt while reference models train leaves a usable kernel, a consistent
cache and untouched user objects; the next run resumes from the models already trained.

Drives a real IPython kernel through ``jupyter_client.KernelManager``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

jupyter_client = pytest.importorskip("jupyter_client")

SETUP = """
import hashlib, pickle
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
X, y = make_classification(n_samples=2000, n_features=10, random_state=0)
df = pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]).assign(label=y)
train_df, test_df = df.iloc[:1000], df.iloc[1000:]
clf = RandomForestClassifier(n_estimators=40, random_state=0).fit(
    train_df.drop(columns="label"), train_df.label)
def fp():
    return [hashlib.sha256(pickle.dumps(o)).hexdigest() for o in (clf, train_df, test_df)]
before = fp()
%load_ext mia_notebook
"""
N_REFS = 24
AUDIT = (
    f"%mia_audit clf --train train_df --test test_df --target label --attacks lira,rmia "
    f"--references {N_REFS} --reference-rounds fixed -o rep"
)
PROGRESS = re.compile(r"Training reference models (\d+)/(\d+)")


def _execute(
    kc: Any, code: str, *, timeout: float = 300, on_msg: Callable[[dict], None] | None = None
) -> tuple[str, list[dict]]:
    """Run ``code``; return (text output, iopub messages) once the kernel is idle."""
    msg_id = kc.execute(code)
    text, msgs = [], []
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(deadline - time.monotonic(), 1))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        msgs.append(msg)
        kind, content = msg["msg_type"], msg["content"]
        if on_msg is not None:
            on_msg(msg)
        if kind == "stream":
            text.append(content["text"])
        elif kind == "execute_result":
            text.append(content["data"].get("text/plain", ""))
        elif kind == "error":
            text.append(f"{content['ename']}: {content['evalue']}")
        elif kind == "status" and content["execution_state"] == "idle":
            return "".join(text), msgs


def _progress_count(msg: dict) -> int | None:
    if msg["msg_type"] not in ("display_data", "update_display_data"):
        return None
    m = PROGRESS.search(msg["content"]["data"].get("text/plain", ""))
    return int(m.group(1)) if m else None


@pytest.fixture
def kernel():
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.slow
def test_interrupt_while_references_train_then_resume(kernel):
    km, kc = kernel
    out, _ = _execute(kc, SETUP)
    assert "Error" not in out, out
    interrupted = []

    def interrupt_after_three(msg: dict) -> None:
        done = _progress_count(msg)
        if done is not None and done >= 3 and not interrupted:
            interrupted.append(done)
            km.interrupt_kernel()

    out, msgs = _execute(kc, AUDIT, on_msg=interrupt_after_three)
    assert interrupted, "the audit finished before it could be interrupted"
    assert "KeyboardInterrupt" in out and "run the audit again to resume" in out, out
    # The progress bar left nothing behind: its last update is an empty output.
    updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert updates and updates[-1]["content"]["data"] == {"text/plain": ""}

    # The kernel still answers, the user's objects are unchanged, the cache is usable.
    out, _ = _execute(kc, "print(6 * 7, fp() == before)")
    assert out.strip() == "42 True"
    out, _ = _execute(
        kc,
        "from mia_notebook.engine.cache import CACHE\n"
        "print(sum(k[0] == 'reference' for k in CACHE._items))",
    )
    n_cached = int(out.strip())
    assert 3 <= n_cached < N_REFS

    # Re-running resumes: only the missing reference models are trained.
    out, _ = _execute(
        kc,
        AUDIT + "\nprint(rep.info.references_cached, rep.info.references_trained, fp() == before)",
    )
    cached, trained, same = out.strip().split()[-3:]
    assert int(cached) == n_cached and int(trained) == N_REFS - n_cached
    assert same == "True"
