"""An interactive audit panel: stock ipywidgets controls around an :class:`AuditReport`.

>>> panel = mia_notebook.AuditPanel(report, model=clf)        # doctest: +SKIP
>>> panel = mia_notebook.AuditPanel(clf, train=train_df, test=test_df,
...                                 target="label")           # doctest: +SKIP

Two kinds of settings:

* **Instant** (FPR target, which computed attacks to show, flag count, slice column,
  redaction): re-summarise the cached scores with :meth:`AuditReport.with_options` and
  re-render; nothing is re-queried or retrained.
* **Run** (attacks not computed yet, number of reference models, seed): wait for the
  Run button, then call :func:`mia_notebook.audit` again in a background thread (its
  expensive stage is cached, so unchanged parts are reused), with progress in the
  panel and a Cancel button.

The report area is an ipywidgets ``Output`` holding the report's whole bundle: the
JSON of :mod:`mia_notebook.render.mime`, ``text/html`` and ``text/plain``. In JupyterLab 4
/ Notebook 7 with this package's extension, the notebook's renderer draws that JSON, so
the FPR target (with the slice tables' TPR), which attacks are shown, the flagged table's
order and the ROC read-out change client-side with no kernel message; the extension's
stylesheet then hides the kernel's FPR slider (its class ``mia-kernel-instant``).
Elsewhere (classic Notebook, VS Code, Lab
without the extension) the HTML shows and the kernel's controls work as before. What
the JSON cannot hold stays in the kernel: Run settings, the flag count (more records),
the slice column and redaction, which is applied before any JSON is written. A kernel
change replaces only the Output's content; the controls are never re-created.

The panel is shown as one display whose bundle holds the live widget *and* the static
report (``text/html`` with the ROC inlined, ``text/plain``, the renderer's JSON); every
kernel-side change updates that display through its display id, so a saved notebook,
nbconvert HTML and GitHub show the last view the kernel rendered, and a notebook
reopened without its kernel shows the interactive report. No maths here: every number
comes from the report.

Modules: :mod:`.controls` (the widgets and what they mean as options), :mod:`.runner`
(background audit, progress, Cancel), :mod:`.view` (the panel: wiring and display).
"""

from __future__ import annotations

from .controls import FPR_CHOICES
from .runner import AuditCancelled
from .view import AuditPanel, show_panel

__all__ = ["FPR_CHOICES", "AuditCancelled", "AuditPanel", "show_panel"]
