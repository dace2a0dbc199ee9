"""The report appears exactly once wherever ``%mia_audit`` sits in its cell.

Cells run in a real ipykernel (``jupyter_client``); every ``display_data`` and
``execute_result`` message is counted, as a notebook front end would show them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.manager import KernelManager

pytestmark = pytest.mark.slow

SETUP = """
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
df = X.iloc[:, :4].assign(label=y)
tr, te = df.iloc[::2], df.iloc[1::2]
clf = LogisticRegression(max_iter=1000).fit(tr.iloc[:, :4], tr['label'])
%load_ext mia_notebook
"""
AUDIT = "%mia_audit clf --train tr --test te --target label --attacks loss,gap"


class Kernel:
    """A real ipykernel of the running interpreter; ``run`` returns the cell's outputs."""

    def __init__(self) -> None:
        self.km = KernelManager(kernel_name="python3")
        env = {k: v for k, v in os.environ.items() if k != "MIA_NOTEBOOK_NO_AUTOLOAD"}
        self.km.start_kernel(env={**env, "MPLBACKEND": "Agg"})
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def run(self, code: str) -> list[dict[str, Any]]:
        outputs: list[dict[str, Any]] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] in {"stream", "display_data", "execute_result", "error"}:
                outputs.append({"type": msg["msg_type"], **msg["content"]})

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=180)
        assert reply["content"]["status"] == "ok", outputs
        return outputs

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    k.run(SETUP)
    yield k
    k.close()


def _reports(outputs: list[dict[str, Any]]) -> int:
    return sum("mia-report" in o.get("data", {}).get("text/html", "") for o in outputs)


def _printed(outputs: list[dict[str, Any]]) -> str:
    return "".join(o["text"] for o in outputs if o["type"] == "stream" and o["name"] == "stdout")


@pytest.mark.parametrize(
    "cell",
    [
        AUDIT,
        f"{AUDIT}\nprint('after')",
        f"x = 1\n{AUDIT}\nx + 1",
        f"{AUDIT} -o bound\nprint('after')",
        f"{AUDIT} -o bound",
        f"report = {AUDIT}\nprint(type(report).__name__)",
        f"for _ in range(1):\n    {AUDIT}",
        f"def f():\n    {AUDIT}\n\nf()",
        "%%mia_audit --model clf2 --train tr --test te --target label --attacks loss\n"
        "clf2 = LogisticRegression(C=10, max_iter=1000).fit(tr.iloc[:, :4], tr['label'])\n"
        "print('trained')",
    ],
    ids=[
        "last",
        "print-after",
        "middle",
        "o-print-after",
        "o-last",
        "assigned",
        "loop",
        "in-function",
        "cell-magic",
    ],
)
def test_report_shows_exactly_once(kernel: Kernel, cell: str) -> None:
    assert _reports(kernel.run(cell)) == 1


def test_report_object_is_still_returned_and_bound(kernel: Kernel) -> None:
    outputs = kernel.run(
        f"report = {AUDIT} -o bound\nprint(type(report).__name__, report is bound)"
    )
    assert _reports(outputs) == 1
    assert _printed(outputs).split() == ["AuditReport", "True"]
    outputs = kernel.run("report")  # the bound object still displays on its own
    assert _reports(outputs) == 1 and outputs[0]["type"] == "execute_result"
