"""The README's commands, the extras in pyproject.toml and .ci/run agree with each other.

- The README's first ``bash`` block holds the two commands a newcomer types: the first
  installs the ``examples`` extra and runs the quickstart, the second installs ``test``
  and runs pytest. .ci/run runs exactly that block in a fresh virtualenv.
- Every package the notebooks import is installed by the runtime dependencies plus
  ``examples``; every package the tests import, by the runtime dependencies plus ``test``
  (followed through the installed packages' own requirements).
- The README names each extra in one line.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
NAME = PYPROJECT["project"]["name"]


def readme_commands() -> list[str]:
    """The lines of the README's first ``bash`` block (what .ci/run runs)."""
    block = re.search(r"^```bash\n(.*?)^```$", README, re.S | re.M)
    assert block, "README.md has no ```bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _declared(extras: Iterable[str]) -> list[Requirement]:
    """Runtime requirements plus those of ``extras``, self-references expanded."""
    reqs = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for r in map(Requirement, PYPROJECT["project"]["optional-dependencies"][extra]):
            if canonicalize_name(r.name) == canonicalize_name(NAME):
                todo.extend(r.extras)
            else:
                reqs.append(r)
    return reqs


def _closure(reqs: list[Requirement]) -> set[str]:
    """Distributions the requirements install, following installed metadata."""
    found: set[str] = set()
    todo = [(r, sorted(r.extras)) for r in reqs]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(extras)}]"
        if key in found:
            continue
        found.update({key, name})
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue  # not installed here: only its own name counts
        for sub in map(Requirement, requires):
            envs = [{"extra": e} for e in ["", *extras]]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append((sub, sorted(sub.extras)))
    return found


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _notebook_source(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    lines = [
        line
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))
    ]
    return "\n".join(lines)


def _unprovided(modules: set[str], extras: list[str], local: set[str]) -> list[str]:
    """Third-party modules whose distribution the runtime deps + ``extras`` do not install."""
    provided = _closure(_declared(extras))
    owners = md.packages_distributions()
    missing = []
    for module in sorted(modules - set(sys.stdlib_module_names) - local - {"__future__"}):
        dists = owners.get(module, [module])
        if not any(canonicalize_name(d) in provided for d in dists):
            missing.append(f"{module} (from {', '.join(dists)})")
    return missing


def test_readme_commands_install_the_light_extra_then_the_test_extra() -> None:
    first, second = readme_commands()
    assert first.startswith('pip install -e ".[examples]" && jupyter nbconvert ')
    assert "--execute notebooks/quickstart.ipynb" in first
    assert second == 'pip install -e ".[test]" && python -m pytest'


def test_ci_runs_the_readme_block_in_a_fresh_venv() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    subprocess.run(["bash", "-n", str(ROOT / ".ci" / "run")], check=True)
    assert "python -m venv" in script
    extract = re.search(r"^README_BLOCK='(.*)'$", script, re.M)
    assert extract, ".ci/run must extract the README's block with README_BLOCK='...'"
    out = subprocess.run(
        ["awk", extract.group(1), str(ROOT / "README.md")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines() == readme_commands()


def test_readme_describes_each_extra_in_one_line() -> None:
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    described = set(re.findall(r"^- `(\w+)`: ", README, re.M))
    assert described == extras


#: Notebooks that need one more extra than ``examples`` (tests/test_notebooks.py NEEDS).
NOTEBOOK_EXTRAS = {"deep_learning": ["deep"]}


def test_examples_extra_covers_the_notebooks() -> None:
    paths = list(ROOT.glob("notebooks/*.ipynb"))
    modules = set().union(*(_imports(_notebook_source(p)) for p in paths))
    assert "statsmodels" in modules  # the scan sees the notebooks' imports
    for path in paths:
        extras = ["examples", *NOTEBOOK_EXTRAS.get(path.stem, [])]
        assert _unprovided(_imports(_notebook_source(path)), extras, {NAME}) == [], path.name
    assert "keras" in _imports(_notebook_source(ROOT / "notebooks" / "deep_learning.ipynb"))


def test_test_extra_covers_the_tests() -> None:
    tests = list((ROOT / "tests").glob("*.py"))
    modules = set().union(*(_imports(p.read_text()) for p in tests))
    assert "IPython" in modules
    local = {NAME, "bench", *(p.stem for p in tests)}  # bench/: the repository's benchmarks
    assert _unprovided(modules, ["test"], local) == []


def test_closure_misses_what_no_extra_declares() -> None:
    """The check can fail: the runtime dependencies alone do not cover the notebooks."""
    modules = {"statsmodels", "numpy"}
    assert _unprovided(modules, [], {NAME}) == ["statsmodels (from statsmodels)"]


def test_the_saved_report_schema_is_valid_and_its_validator_a_test_dependency() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    test_extra = PYPROJECT["project"]["optional-dependencies"]["test"]
    assert "jsonschema" in {canonicalize_name(Requirement(r).name) for r in test_extra}
    schema = json.loads((ROOT / "mia_notebook" / "engine" / "report_file.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
