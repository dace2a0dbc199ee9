"""The engine stays notebook-free: importing it loads no IPython or ipywidgets."""

from __future__ import annotations

import subprocess
import sys


def test_engine_imports_no_ipython():
    code = (
        "import sys, mia_notebook.engine.audit, mia_notebook.engine.attacks;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('IPython', 'ipywidgets')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
