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

The panel is shown as one display whose bundle holds the live widget *and* the static
report (``text/html`` with the ROC inlined, ``text/plain``); every change updates that
display through its display id, so a saved notebook, nbconvert HTML and GitHub show
the last view the user looked at. No maths here: every number comes from the report.

Modules: :mod:`.controls` (the widgets and what they mean as options), :mod:`.runner`
(background audit, progress, Cancel), :mod:`.view` (the panel: wiring and display).
"""

from __future__ import annotations

from .controls import FPR_CHOICES
from .runner import AuditCancelled
from .view import AuditPanel, show_panel

__all__ = ["FPR_CHOICES", "AuditCancelled", "AuditPanel", "show_panel"]
