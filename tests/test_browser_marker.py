"""The ``browser`` marker (tests/conftest.py): skip with the install hint, fail under CI.

Runs pytest in a subprocess on a scratch copy of the repository's conftest with two
browser tests, pointing ``MIA_CHROMIUM`` at a missing or at the real binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")
TESTS = """
import pytest

@pytest.mark.browser
def test_marked():
    pass

@pytest.mark.browser
def test_fixture(chromium):
    assert chromium.endswith("chromium")
"""


def _pytest(tmp_path: Path, chromium: str, *, ci: bool) -> subprocess.CompletedProcess[str]:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_b.py").write_text(TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    browser: drives chromium\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["MIA_CHROMIUM"] = chromium
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-rsE",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


def test_missing_chromium_skips_with_the_install_hint(tmp_path: Path) -> None:
    out = _pytest(tmp_path, str(tmp_path / "no-chromium"), ci=False)
    assert out.returncode == 0, out.stdout
    assert "2 skipped" in out.stdout
    assert "SKIPPED [2] conftest.py" in out.stdout, out.stdout  # both, for the same reason
    assert "Debian's chromium is not installed: apt-get install chromium" in out.stdout


def test_missing_chromium_fails_under_ci(tmp_path: Path) -> None:
    out = _pytest(tmp_path, str(tmp_path / "no-chromium"), ci=True)
    assert out.returncode == 1, out.stdout
    assert "2 errors" in out.stdout, out.stdout  # failed in setup, before any fixture
    assert "apt-get install chromium" in out.stdout


def test_installed_chromium_runs_the_tests(tmp_path: Path) -> None:
    exe = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    if exe is None:
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")
    out = _pytest(tmp_path, exe, ci=True)
    assert out.returncode == 0 and "2 passed" in out.stdout, out.stdout
