"""The report appears exactly once wherever ``%mia_audit`` sits in its cell.

Cells run in a real ipykernel (``jupyter_client``); every ``display_data`` and
``execute_result`` message is counted, as a notebook front end would show them.

The magic shows its report itself and keeps IPython from showing the same object again
until the cell ends (:func:`mia_notebook.magics.show_once`); it reads no bytecode, so
the behaviour does not depend on the Python version (a test below keeps it that way).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path
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
COMPARE = "%mia_audit clf,clf:label --train tr --test te --target label --attacks gap"
ROOT = Path(__file__).parents[1]


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
        f"report = {AUDIT}\nreport",
        f"report = {AUDIT}\ndisplay(report)\nprint('after')",
        f"print('before')\n{AUDIT}",
        f"def g():\n    r = {AUDIT}\n    return r\n\ng()",
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
        "assigned-then-shown",
        "assigned-then-displayed",
        "print-before",
        "returned-from-function",
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


@pytest.mark.parametrize("interactivity", ["all", "last_expr_or_assign", "none", "last"])
def test_report_shows_once_under_every_interactivity(kernel: Kernel, interactivity: str) -> None:
    kernel.run(f"%config InteractiveShell.ast_node_interactivity = {interactivity!r}")
    try:
        for cell in (AUDIT, f"r = {AUDIT}", f"{AUDIT}\n1", f"r = {AUDIT}\nr"):
            assert _reports(kernel.run(cell)) == 1, (interactivity, cell)
    finally:
        kernel.run("%config InteractiveShell.ast_node_interactivity = 'last_expr'")


def test_a_comparison_shows_once_and_nothing_is_left_behind(kernel: Kernel) -> None:
    for cell in (COMPARE, f"c = {COMPARE}\nprint('after')", f"c = {COMPARE}\nc"):
        outputs = kernel.run(cell)
        assert sum("mia-compare" in o.get("data", {}).get("text/html", "") for o in outputs) == 1
    left = kernel.run(
        "print(len(get_ipython().display_formatter.ipython_display_formatter.singleton_printers))"
    )
    assert _printed(left).strip() == "0"  # the one-cell suppression is gone
    outputs = kernel.run("c")  # and the bound comparison displays on its own again
    assert sum("mia-compare" in o.get("data", {}).get("text/html", "") for o in outputs) == 1


def test_the_magic_reads_no_bytecode() -> None:
    """What keeps the behaviour the same on every Python that pyproject allows."""
    source = (ROOT / "mia_notebook" / "magics.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"dis", "inspect", "sys"}
    assert "_getframe" not in source and "f_lasti" not in source
