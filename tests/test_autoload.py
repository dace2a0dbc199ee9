"""``pip install`` makes ``%mia_audit`` work in every new kernel, without ``%load_ext``.

A real (non-editable) wheel of this repo is installed into a temporary virtual
environment; kernels are started by ``jupyter_client.KernelManager`` with that
environment's Python, so the startup file that runs is the one the wheel placed in
``<venv>/etc/ipython/startup/`` and the package imported is the venv's own copy.

The dependencies (ipykernel, scikit-learn...) come from the environment running the
tests, whether that is a virtualenv or not: a ``.pth`` file in the scratch venv adds the
running interpreter's site-packages after the venv's own. (``--system-site-packages``
would not do: from inside a virtualenv it exposes the base interpreter's packages, not
the outer venv's.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import site
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).parents[1]
STARTUP = "mia_notebook_autoload.py"

pytestmark = pytest.mark.slow

SETUP = """
import sys
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
df = X.iloc[:, :5].assign(label=y, name='x')
tr, te = df.iloc[::2], df.iloc[1::2]
clf = LogisticRegression(max_iter=500).fit(tr.iloc[:, :5], tr['label'])
"""


@pytest.fixture(scope="module")
def venv_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding a wheel build of this repo (dependencies from the main env)."""
    tmp = tmp_path_factory.mktemp("autoload")
    dist = tmp / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist)]
    if importlib.util.find_spec("hatchling") is not None:
        build.append("--no-build-isolation")  # offline; else pip fetches hatchling
    subprocess.run([*build, str(ROOT)], check=True, cwd=tmp)
    wheel = next(dist.glob("mia_notebook-*.whl"))
    # the saved-report schema ships with the package (mia_notebook.engine.saving.SCHEMA)
    assert "mia_notebook/engine/report_file.schema.json" in zipfile.ZipFile(wheel).namelist()
    env_dir = tmp / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    _see_running_site_packages(py)
    subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            str(wheel),
        ],
        check=True,
        cwd=tmp,
    )
    assert (env_dir / "etc" / "ipython" / "startup" / STARTUP).is_file()
    spec = tmp / "kernels" / "mia-venv"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "mia venv",
                "language": "python",
            }
        )
    )
    return env_dir


def _running_site_dirs() -> list[str]:
    """site-packages of the interpreter running the tests (a venv's own, if in one)."""
    dirs = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def _see_running_site_packages(py: Path) -> None:
    """Make the venv at ``py`` import the running environment's packages after its own."""
    out = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    purelib = Path(out.stdout.strip())
    assert purelib.is_dir(), purelib
    # addsitedir also runs those directories' .pth files (namespace packages, editable
    # installs of dependencies); the venv's own site-packages stays first on sys.path.
    lines = [f"import site; site.addsitedir({d!r})" for d in _running_site_dirs()]
    purelib.joinpath("_outer_site_packages.pth").write_text("\n".join(lines) + "\n")


class Kernel:
    """A kernel of the venv, run in a scratch directory with a clean IPython profile."""

    def __init__(self, env_dir: Path, cwd: Path, **env: str) -> None:
        ksm = KernelSpecManager(kernel_dirs=[str(env_dir.parent / "kernels")])
        self.km = KernelManager(kernel_name="mia-venv", kernel_spec_manager=ksm)
        # PYTHONPATH (a checkout on it) would shadow the venv's installed copy.
        drop = {"MIA_NOTEBOOK_NO_AUTOLOAD", "PYTHONPATH", "VIRTUAL_ENV"}
        full_env = {k: v for k, v in os.environ.items() if k not in drop}
        full_env.update(IPYTHONDIR=str(cwd / "ipython"), MPLBACKEND="Agg", **env)
        self.km.start_kernel(cwd=str(cwd), env=full_env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)

    def run(self, code: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        outputs: list[dict[str, Any]] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] in {"stream", "display_data", "execute_result", "error"}:
                outputs.append({"type": msg["msg_type"], **msg["content"]})

        reply = self.kc.execute_interactive(code, output_hook=hook, timeout=180)
        return outputs, reply["content"]

    def value(self, expr: str) -> Any:
        outputs, reply = self.run(f"import json as _j, sys; print(_j.dumps({expr}))")
        assert reply["status"] == "ok", reply
        text = "".join(o["text"] for o in outputs if o["type"] == "stream")
        return json.loads(text)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(venv_dir: Path, tmp_path: Path) -> Iterator[Kernel]:
    k = Kernel(venv_dir, tmp_path)
    yield k
    k.close()


def _html(outputs: list[dict[str, Any]]) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in outputs)


def _assert_venv_copy(k: Kernel, venv_dir: Path) -> None:
    assert k.value("sys.prefix") == str(venv_dir)
    path = k.value("__import__('mia_notebook').__file__")
    assert path.startswith(str(venv_dir)), f"imported {path}, not the venv's non-editable copy"


def test_line_magic_autoloads_lazily(kernel: Kernel, venv_dir: Path) -> None:
    # the name is split so that nothing in this cell mentions the magic
    lazy = kernel.value("get_ipython().magics_manager.lazy_magics.get('mia' + '_audit')")
    assert lazy == "mia_notebook"
    assert kernel.value("'mia_notebook' in sys.modules") is False, "startup file imported it"
    assert (
        kernel.value(
            "sorted(k for k in sys.modules if k.split('.')[0] in "
            "('sklearn', 'pandas', 'matplotlib'))"
        )
        == []
    )
    outputs, reply = kernel.run(SETUP + "%mia_audit clf --train tr --test te --target label")
    assert reply["status"] == "ok", reply
    assert "mia-report" in _html(outputs)
    assert "data:image/png;base64," in _html(outputs)
    _assert_venv_copy(kernel, venv_dir)


def test_cell_magic_autoloads_lazily(kernel: Kernel, venv_dir: Path) -> None:
    outputs, reply = kernel.run(SETUP)
    assert reply["status"] == "ok", reply
    assert kernel.value("'mia_notebook' in sys.modules") is False
    outputs, reply = kernel.run(
        "%%mia_audit --model clf2 --train tr --test te --target label\n"
        "clf2 = LogisticRegression(C=100, max_iter=500).fit(tr.iloc[:, :5], tr['label'])"
    )
    assert reply["status"] == "ok", reply
    assert "mia-report" in _html(outputs)
    _assert_venv_copy(kernel, venv_dir)


def test_config_before_first_use_is_kept(kernel: Kernel) -> None:
    """%config MiaAudit.redact before the first audit must not be silently dropped."""
    _, reply = kernel.run("%config MiaAudit.redact = ['name']")
    assert reply["status"] == "ok", reply
    outputs, reply = kernel.run(SETUP + "%mia_audit clf --train tr --test te --target label")
    assert reply["status"] == "ok", reply
    html = _html(outputs)
    assert "Redacted columns" in html and "name" in html
    assert '<td class="mia-text">x</td>' not in html


def test_opt_out(venv_dir: Path, tmp_path: Path) -> None:
    k = Kernel(venv_dir, tmp_path, MIA_NOTEBOOK_NO_AUTOLOAD="1")
    try:
        # IPython 9 registers its own magics lazily too: only ours must be absent
        assert k.value("'mia' + '_audit' in get_ipython().magics_manager.lazy_magics") is False
        outputs, reply = k.run(SETUP + "%mia_audit clf --train tr --test te --target label")
        assert reply["status"] == "error"
        assert "not found" in reply["evalue"]
        outputs, reply = k.run(
            "%load_ext mia_notebook\n%mia_audit clf --train tr --test te --target label"
        )
        assert reply["status"] == "ok", reply
        assert "mia-report" in _html(outputs)
        _assert_venv_copy(k, venv_dir)
    finally:
        k.close()


def test_startup_file_never_raises(tmp_path: Path) -> None:
    """Without IPython running, or with the package gone, the file is a silent no-op."""
    src = (ROOT / "jupyter-config" / "ipython" / "startup" / STARTUP).read_text()
    ns: dict[str, Any] = {}
    exec(compile(src, STARTUP, "exec"), ns)  # no IPython shell: get_ipython() is None
    assert "_mia_notebook_autoload" not in ns  # leaves nothing in the user namespace
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def fake(name, *a, **k):\n"
        "    if name.startswith('IPython'): raise ImportError(name)\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = fake\n"
        f"exec(compile(open({str(ROOT / 'jupyter-config/ipython/startup' / STARTUP)!r}).read(),"
        " 'f', 'exec'), {})\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_wheel_ships_no_kernel_config(venv_dir: Path) -> None:
    etc = venv_dir / "etc"
    shipped = sorted(str(p.relative_to(etc)) for p in etc.rglob("*") if p.is_file())
    assert f"ipython/startup/{STARTUP}" in shipped
    assert not [p for p in shipped if "ipython_kernel_config" in p]
