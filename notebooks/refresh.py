"""Re-execute the example notebooks in place, so their saved outputs carry the current
report payload (what the JupyterLab / Notebook 7 extension draws without a kernel).

Run from anywhere, after any change to ``mia_notebook/render/mime.py`` or
``mime_compare.py`` (``tests/test_notebook_outputs.py`` fails until you do)::

    python notebooks/refresh.py                 # every notebook in notebooks/
    python notebooks/refresh.py quickstart      # only these

Each notebook runs top to bottom in a fresh ``python3`` kernel with ``notebooks/`` as its
working directory (as ``tests/test_notebooks.py`` runs them); cell ids are made stable and
execution timings dropped, so the diff shows what changed. A notebook that raises is left
untouched and the script exits non-zero.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent


def refresh(path: Path) -> None:
    """Execute ``path`` in a fresh kernel and write it back with its new outputs."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
    ).execute()
    for i, cell in enumerate(nb.cells):
        cell["id"] = cell.get("id") or f"cell-{i}"
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, path)


def main(names: list[str]) -> int:
    paths = [HERE / f"{n.removesuffix('.ipynb')}.ipynb" for n in names] or sorted(
        HERE.glob("*.ipynb")
    )
    failed = []
    for path in paths:
        t0 = time.perf_counter()
        try:
            refresh(path)
        except Exception as e:  # report and go on with the others
            failed.append(path.name)
            print(f"{path.name}: FAILED ({type(e).__name__}: {str(e)[:300]})", flush=True)
            continue
        print(f"{path.name}: re-executed in {time.perf_counter() - t0:.0f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
