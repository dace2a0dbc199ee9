"""One progress protocol, three forms: notebook bar, terminal bar, plain lines elsewhere."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from sklearn.linear_model import LogisticRegression

import mia_notebook as mn
from mia_notebook.engine import progress as P
from mia_notebook.notebook_progress import NotebookProgress, in_notebook


def test_line_progress_writes_start_each_quarter_and_end():
    buf = io.StringIO()
    bar = P.LineProgress(stream=buf)
    bar.start(16, "Training reference models")
    for i in range(1, 17):
        bar.update(i)
    bar.close()
    lines = buf.getvalue().splitlines()
    assert "\r" not in buf.getvalue()
    assert lines[0] == "Training reference models: 0/16"
    assert [line.split(": ")[1].split(" ")[0] for line in lines[1:4]] == ["4/16", "8/16", "12/16"]
    assert "(25%)" in lines[1] and "ETA" in lines[1]
    assert lines[4].startswith("Training reference models: done, 16/16 in ")
    assert len(lines) == 5


def test_line_progress_stays_short_for_many_steps_and_says_where_it_stopped():
    buf = io.StringIO()
    bar = P.LineProgress(stream=buf)
    bar.start(1000, "Work")
    for i in range(1, 431):
        bar.update(i)
    bar.close()  # e.g. after an interrupt
    lines = buf.getvalue().splitlines()
    assert len(lines) == 3  # start, 25%, stopped
    assert lines[-1].startswith("Work: stopped at 430/1000 after ")


def test_audit_progress_in_a_file_is_a_few_plain_lines(cancer_splits, tmp_path):
    """``progress=True`` with stderr redirected to a file (CI logs, nbconvert)."""
    tr, te = cancer_splits
    clf = LogisticRegression(max_iter=5000).fit(tr.drop(columns="label"), tr["label"])
    log = tmp_path / "stderr.log"
    old = sys.stderr
    with open(log, "w") as stream:
        sys.stderr = stream
        try:
            mn.audit(
                clf,
                train=tr,
                test=te,
                target="label",
                attacks="rmia",
                references=8,
                reference_rounds="fixed",  # one round of 8
                n_jobs=1,
                seed=11,
            )
        finally:
            sys.stderr = old
    text = log.read_text()
    assert "\r" not in text
    lines = [line for line in text.splitlines() if line.startswith("Training reference")]
    assert lines[0] == "Training reference models: 0/8"
    assert lines[-1].startswith("Training reference models: done, 8/8 in ")
    assert 2 <= len(lines) <= 6


def test_default_progress_picks_the_form_for_the_stream(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(P.default_progress(), P.LineProgress)
    master, slave = os.openpty()  # a real terminal device
    try:
        with os.fdopen(slave, "w") as tty:
            monkeypatch.setattr(sys, "stderr", tty)
            assert isinstance(P.default_progress(), P.TextProgress)
            monkeypatch.setattr(sys, "stderr", io.StringIO())
    finally:
        os.close(master)
    assert isinstance(P.make_progress(False), P.NullProgress)
    assert not in_notebook()  # a plain interpreter (or a shell without a kernel)


def test_set_default_progress_still_overrides_the_choice(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    P.set_default_progress(P.NullProgress)
    try:
        assert isinstance(P.make_progress(True), P.NullProgress)
    finally:
        P.set_default_progress(None)
    assert isinstance(P.make_progress(True), P.LineProgress)


def test_notebook_progress_updates_one_display_and_leaves_it_empty():
    calls = []

    class Handle:
        def update(self, obj, raw=False):
            calls.append(("update", obj))

    def display(obj, raw=False, display_id=False):
        assert raw and display_id
        calls.append(("display", obj))
        return Handle()

    bar = NotebookProgress(min_interval=0.0, display=display)
    bar.start(3, "Training reference models")
    for i in (1, 2, 3):
        bar.update(i)
    bar.close()
    assert calls[0][0] == "display" and "0/3" in calls[0][1]["text/plain"]
    assert "<progress value='3' max='3'" in calls[-2][1]["text/html"]
    assert calls[-1] == ("update", {"text/plain": ""})
    assert sum(c[0] == "display" for c in calls) == 1


def test_notebook_form_is_chosen_inside_a_kernel_without_importing_ipython_before():
    """In a real kernel ``progress=True`` draws the notebook bar; the engine itself never
    imports IPython (it finds the running shell in ``sys.modules``)."""
    pytest.importorskip("ipykernel")
    code = (
        "import sys\n"
        "from ipykernel.inprocess.manager import InProcessKernelManager\n"
        "km = InProcessKernelManager(); km.start_kernel()\n"
        "import mia_notebook\n"
        "from mia_notebook.engine import progress as P\n"
        "print(type(P.default_progress()).__name__)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.stdout.strip().splitlines()[-1] == "NotebookProgress", res.stderr
