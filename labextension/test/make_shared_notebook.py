"""Write notebooks/shared_report.ipynb with its outputs saved (the e2e test opens it as is).

Run from the repository root after a change to the report payload:
``python labextension/test/make_shared_notebook.py``. The notebook audits a forest on the
Fair survey data bundled with statsmodels (no download) and shows the report, whose
output bundle holds the static ``text/html`` and the renderer's JSON; then it compares the
forest with a logistic regression (``mn.compare``), whose output holds the static
comparison and the comparison renderer's JSON.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
CELLS = [
    (
        "markdown",
        "# A shared audit\n\nThis notebook was run once and saved with its outputs. "
        "In JupyterLab 4 or Notebook 7 with `mia_notebook` installed, the report below is "
        "interactive without a kernel: change the FPR target, hide attacks, sort the flagged "
        "records, hover over the ROC. The comparison at the end is interactive too. GitHub "
        "and nbconvert show the static report.",
    ),
    (
        "code",
        "import statsmodels.api as sm\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "from sklearn.model_selection import train_test_split\n\n"
        "import mia_notebook as mn\n\n"
        "df = sm.datasets.fair.load_pandas().data\n"
        'df["had_affair"] = (df.pop("affairs") > 0).astype(int)\n'
        "train_df, test_df = train_test_split(df, test_size=0.5, random_state=0, "
        'stratify=df["had_affair"])\n'
        "forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(\n"
        '    train_df.drop(columns="had_affair"), train_df["had_affair"]\n'
        ")",
    ),
    (
        "code",
        "report = mn.audit(\n"
        "    forest,\n"
        "    train=train_df,\n"
        "    test=test_df,\n"
        '    target="had_affair",\n'
        '    attacks=["loss", "confidence", "entropy"],\n'
        "    flag=8,\n"
        '    redact=["religious"],\n'
        ")\n"
        "report",
    ),
    (
        "markdown",
        "## The forest against a simpler model\n\nThe same records audited for both "
        "models. Change the FPR target: every model's TPR is recomputed from its saved "
        "curve; hover over the ROC curves.",
    ),
    (
        "code",
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.pipeline import make_pipeline\n"
        "from sklearn.preprocessing import StandardScaler\n\n"
        "logreg = make_pipeline(StandardScaler(), LogisticRegression()).fit(\n"
        '    train_df.drop(columns="had_affair"), train_df["had_affair"]\n'
        ")\n"
        "mn.compare(\n"
        '    {"forest": forest, "logistic regression": logreg},\n'
        "    train=train_df,\n"
        "    test=test_df,\n"
        '    target="had_affair",\n'
        '    attacks=["loss", "confidence", "entropy"],\n'
        ")",
    ),
]


def main(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in CELLS:
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(source))
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    for i, cell in enumerate(nb.cells):  # stable ids and no timings: small, reviewable diffs
        cell["id"] = f"cell-{i}"
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, path)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "notebooks" / "shared_report.ipynb")
