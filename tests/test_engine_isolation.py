"""The engine stays notebook-free (importing it loads no IPython or ipywidgets), and no
module of the package imports itself back: no import cycle, counting imports made
under ``TYPE_CHECKING`` and inside functions too."""

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
PACKAGE = ENGINE.parent


def _module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = PACKAGE) -> list[tuple[str, list[str]]]:
    """(absolute module, imported names) of every import in ``path``, at any depth:
    module level, under ``if TYPE_CHECKING:``, inside functions."""
    package = _module_name(path, root).split(".")
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


def _package_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Every module of the package at ``root`` -> the package modules it imports, at any
    depth (module level, under ``TYPE_CHECKING``, inside functions).

    An import names its most specific module: ``from .x import y`` depends on ``x.y``
    when that is a module, else on ``x``. The parent packages that Python initialises
    on the way are not edges: a package whose ``__init__`` re-exports its submodules
    would otherwise form a cycle with each of them.
    """
    modules = {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for module, names in _imports(path, root):
            subs = {f"{module}.{n}" for n in names} & modules.keys()
            deps |= subs
            if module in modules and (not names or len(subs) < len(names)):
                deps.add(module)
        graph[name] = deps - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles_anywhere_in_the_package():
    graph = _package_graph()
    assert "mia_notebook.engine.results" in graph["mia_notebook.engine.audit"]  # followed
    # a type-only and a function-level import count as edges too
    assert "mia_notebook.render" in graph["mia_notebook"]  # inside _report_renderer()
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_type_only_and_function_level_cycles(tmp_path):
    pkg = tmp_path / "mia_notebook"
    (pkg / "engine").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "engine" / "__init__.py").write_text("from . import c\n")
    (pkg / "engine" / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n"
    )
    (pkg / "engine" / "b.py").write_text("def f():\n    from .a import A\n")
    (pkg / "engine" / "c.py").write_text("from . import a\nfrom .. import engine\n")
    graph = _package_graph(pkg)
    assert graph == {
        "mia_notebook": set(),
        "mia_notebook.engine": {"mia_notebook.engine.c"},
        "mia_notebook.engine.a": {"mia_notebook.engine.b"},
        "mia_notebook.engine.b": {"mia_notebook.engine.a"},
        "mia_notebook.engine.c": {"mia_notebook.engine", "mia_notebook.engine.a"},
    }
    assert _cycles(graph) == [
        ["mia_notebook.engine.a", "mia_notebook.engine.b"],
        ["mia_notebook.engine", "mia_notebook.engine.c"],
    ]
