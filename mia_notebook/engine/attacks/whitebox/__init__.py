"""White-box attacks: membership scores from the model's parameters, not its outputs.

* :mod:`.gradients` -- per-record loss gradients of linear models and MLPs;
* :mod:`.trees` -- per-tree leaf signals of tree ensembles;
* :mod:`.instances` -- training rows the model stores (k-NN, SVM support vectors);
* :mod:`.access` -- which family a model is in, Pipeline unwrapping;
* :mod:`.stage` -- the lazy white-box stage of an audit and the reference statistics;
* :mod:`.attacks` -- the registered attacks (``grad-norm``, ``grad-lira``,
  ``tree-leaves``, ``tree-lira``, ``stored-match``).

See ``docs/whitebox.md``.
"""

from .access import family_of, final_step, transformed
from .attacks import (
    GradientLiraAttack,
    GradientNormAttack,
    StoredMatchAttack,
    TreeLeavesAttack,
    TreeLiraAttack,
    WhiteboxAttack,
)
from .stage import PROVIDER, REFERENCES, WhiteboxSignals, WhiteboxStage

__all__ = [
    "PROVIDER",
    "REFERENCES",
    "GradientLiraAttack",
    "GradientNormAttack",
    "StoredMatchAttack",
    "TreeLeavesAttack",
    "TreeLiraAttack",
    "WhiteboxAttack",
    "WhiteboxSignals",
    "WhiteboxStage",
    "family_of",
    "final_step",
    "transformed",
]
