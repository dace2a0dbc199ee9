"""The engine stays notebook-free: importing it loads no IPython or ipywidgets."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import mia_notebook.engine


def test_engine_imports_no_ipython():
    code = (
        "import sys, mia_notebook.engine.audit, mia_notebook.engine.attacks;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('IPython', 'ipywidgets')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


# ------------------------------------------------------------ static import graph
ENGINE = Path(mia_notebook.engine.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(ENGINE.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import in ``path``, at any depth."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            out.append((module, [alias.name for alias in node.names]))
    return out


def _engine_files() -> list[Path]:
    return sorted(ENGINE.rglob("*.py"))


def test_engine_imports_nothing_from_the_package_above_it():
    bad = [
        f"{path.relative_to(ENGINE)} imports {module}"
        for path in _engine_files()
        for module, _ in _imports(path)
        if module.split(".")[0] == "mia_notebook" and not module.startswith("mia_notebook.engine")
    ]
    assert bad == []


def test_no_engine_module_imports_another_modules_private_names():
    bad = [
        f"{path.relative_to(ENGINE)}: from {module} import {name}"
        for path in _engine_files()
        for module, names in _imports(path)
        for name in names
        if module.startswith("mia_notebook") and name.startswith("_") and name != "__version__"
    ]
    assert bad == []


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _engine_files():
        deps = set()
        for module, names in _imports(path):
            if not module.startswith("mia_notebook.engine"):
                continue
            parts = module.split(".")
            deps |= {".".join(parts[:i]) for i in range(3, len(parts) + 1)}  # parents run
            deps |= {f"{module}.{n}" for n in names}  # "from pkg import submodule"
        graph[_module_name(path)] = deps
    return graph


def test_threshold_attacks_never_import_the_reference_trainer():
    graph = _graph()
    start = "mia_notebook.engine.attacks.threshold"
    seen, todo = {start}, [start]
    while todo:
        for dep in graph.get(todo.pop(), set()):
            if dep in graph and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    assert "mia_notebook.engine.references.statistics" in seen  # the graph is followed
    assert "mia_notebook.engine.references.training" not in seen
    assert "mia_notebook.engine.audit" not in seen
