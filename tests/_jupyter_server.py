"""A real Jupyter server (JupyterLab 4 or Notebook 7) for the browser tests: started on a
free localhost port with a random token, as root, and shut down (with its kernels)
afterwards. One place for the command line, the wait and the shutdown that
test_jupyterlab_e2e.py, test_labextension_e2e.py and test_share.py use.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
LAB = ("-m", "jupyter", "lab")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shot(page: Any, name: str) -> None:
    """A full-page screenshot ``test-artifacts/screenshots/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"jupyter did not answer in {timeout} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes], base: str, token: str) -> None:
    """Shut the server (and its kernels) down; kill its process group if it lingers."""
    if proc.poll() is None:
        try:
            req = urllib.request.Request(
                f"{base}/api/shutdown",
                method="POST",
                headers={"Authorization": f"token {token}"},
            )
            urllib.request.urlopen(req, timeout=10).close()
            proc.wait(timeout=30)
        except Exception:
            pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def notebook_json(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """An nbformat 4.5 notebook of ``cells`` with a python3 kernelspec (without one, a
    "Select Kernel" dialog blocks the page)."""
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def run_all_cells(page: Any, url: str) -> None:
    """Open the notebook at ``url`` (JupyterLab or Notebook 7), wait until its kernel is
    idle, and run every cell."""
    page.goto(url)
    page.wait_for_function(
        """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                   const k = w && w.sessionContext && w.sessionContext.session
                       && w.sessionContext.session.kernel;
                   return !!k && k.status === 'idle'; }""",
        timeout=180_000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


@dataclass(frozen=True)
class Server:
    base: str
    token: str
    log: Path


@contextmanager
def jupyter_server(
    root: Path,
    nbdir: Path,
    *,
    launch: Sequence[str] = LAB,
    app: str = "LabApp",
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> Iterator[Server]:
    """Run ``python <launch>`` serving ``nbdir``, its settings and workspaces under
    ``root`` (``app`` names the application class those options belong to), with
    ``args`` added and ``env`` over ``os.environ`` (its runtime dir under ``root``)."""
    port, token = free_port(), secrets.token_hex(16)
    log = root / "jupyter.log"
    cmd = [
        sys.executable,
        *launch,
        "--no-browser",
        "--ServerApp.allow_root=True",
        "--ServerApp.ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.token={token}",
        f"--notebook-dir={nbdir}",
        "--ServerApp.port_retries=0",
        f"--{app}.user_settings_dir={root / 'settings'}",
        f"--{app}.workspaces_dir={root / 'workspaces'}",
        *args,
    ]
    full_env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(root / "runtime"), **(env or {})}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=root,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/api/status?token={token}", proc, log, timeout)
        yield Server(base, token, log)
    finally:
        stop(proc, base, token)
