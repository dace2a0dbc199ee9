"""``%mia_audit`` / ``%%mia_audit``: parse, resolve variables, call the engine, display.

Thin by design: every number comes from :func:`mia_notebook.audit`. Input problems
(:class:`~mia_notebook.engine.errors.MiaError`) become a one-line ``UsageError``.
Defaults are traitlets, so ``%config MiaAudit.flag = 20`` works.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
)
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split
from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config import Configurable

from .engine.audit import audit
from .engine.errors import MiaError
from .engine.results import AuditReport

__all__ = ["MiaAudit", "register"]


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


@magics_class
class MiaAudit(Magics, Configurable):
    """Audit a fitted model for membership-inference risk.

    The configurable defaults below apply when an option is not given on the line.
    """

    attacks = Unicode("auto", help="Attacks to run: 'auto', 'all' or comma-separated names.").tag(
        config=True
    )
    fpr = List(Float(), default_value=[0.001, 0.01, 0.1], help="FPR targets for TPR columns.").tag(
        config=True
    )
    flag = Int(10, help="How many most-exposed members to list.").tag(config=True)
    seed = Int(0, help="Seed of every random choice.").tag(config=True)
    redact = List(Unicode(), default_value=[], help="Columns always redacted.").tag(config=True)
    confidence = Float(0.95, help="Confidence of the epsilon lower bound.").tag(config=True)
    delta = Float(0.0, help="delta assumed by the epsilon lower bound.").tag(config=True)
    progress = Bool(True, help="Show progress while reference models train.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        Configurable.__init__(self, config=shell.config if shell is not None else None)
        Magics.__init__(self, shell=shell, **kwargs)

    # ------------------------------------------------------------ helpers
    def _lookup(self, expr: str, local_ns: dict[str, Any] | None, what: str) -> Any:
        user_ns = self.shell.user_ns if self.shell is not None else {}
        for ns in (local_ns or {}, user_ns):
            if expr in ns:
                return ns[expr]
        if not expr.isidentifier():
            try:
                return eval(expr, user_ns, dict(local_ns or {}))
            except Exception as e:
                raise UsageError(f"Cannot evaluate {what} '{expr}': {e}") from None
        raise UsageError(
            f"No variable named '{expr}' for {what}. Define it in the notebook first "
            "(names are looked up in the local, then the user namespace)."
        )

    def _run(self, args: Any, model: Any, local_ns: dict[str, Any] | None) -> AuditReport:
        for opt in ("train", "test", "target"):
            if getattr(args, opt) is None:
                raise UsageError(f"%mia_audit needs --{opt}. Example: {_EXAMPLE}")
        train = self._lookup(args.train, local_ns, "--train")
        test = self._lookup(args.test, local_ns, "--test")
        redact = list(dict.fromkeys([*self.redact, *(_split(args.redact) or [])]))
        try:
            return audit(
                model,
                train=train,
                test=test,
                target=args.target,
                features=_split(args.features),
                attacks=args.attacks or self.attacks,
                fpr=args.fpr or tuple(self.fpr),
                flag=self.flag if args.flag is None else args.flag,
                slice=args.slice,
                redact=redact,
                seed=self.seed if args.seed is None else args.seed,
                confidence=self.confidence,
                delta=self.delta,
            )
        except MiaError as e:
            raise UsageError(str(e)) from None

    # ------------------------------------------------------------ the magic
    @magic_arguments()
    @argument("model", nargs="?", help="Name of the fitted model (line magic).")
    @argument("--model", dest="model_opt", help="Name the cell binds the model to (cell magic).")
    @argument("--train", help="Dataframe of training records (members).")
    @argument("--test", help="Dataframe of held-out records (non-members).")
    @argument("--target", help="Label column.")
    @argument("--features", help="Comma-separated feature columns (default: the model's).")
    @argument("--attacks", help="'auto' (default), 'all' or comma-separated attack names.")
    @argument("--fpr", help="Comma-separated FPR targets, e.g. 0.001,0.01,0.1.")
    @argument("--flag", type=int, help="Number of most-exposed members to list (0: none).")
    @argument("--slice", help="Column to break metrics down by.")
    @argument("--redact", help="Comma-separated columns never shown.")
    @argument("--seed", type=int, help="Random seed.")
    @argument("-o", "--out", help="Bind the report to this variable.")
    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def mia_audit(
        self, line: str, cell: str | None = None, local_ns: dict[str, Any] | None = None
    ) -> AuditReport:
        """Audit MODEL for membership-inference risk on --train (members) vs --test.

        Line:  %mia_audit clf --train train_df --test test_df --target label
        Cell:  %%mia_audit --model clf --train train_df --test test_df --target label
               clf = RandomForestClassifier().fit(...)
        """
        # posix=True so that quoted names ('mean radius') lose their quotes
        args = self.mia_audit.parser.parse_args(arg_split(line, posix=True))
        if cell is not None:
            if self.shell is not None:
                self.shell.ex(cell)
            name = args.model_opt or args.model
        else:
            name = args.model or args.model_opt
        if not name:
            raise UsageError(f"%mia_audit needs a model. Example: {_EXAMPLE}")
        model = self._lookup(name, local_ns if cell is None else None, "the model")
        report = self._run(args, model, local_ns if cell is None else None)
        if args.out and self.shell is not None:
            if not args.out.isidentifier():
                raise UsageError(f"-o needs a variable name. Got '{args.out}'.")
            self.shell.user_ns[args.out] = report
        return report


_EXAMPLE = "%mia_audit clf --train train_df --test test_df --target label"


def register(ipython: Any) -> MiaAudit:
    """Register the magics (and their ``%config`` section) with ``ipython``."""
    magics = MiaAudit(shell=ipython)
    ipython.register_magics(magics)
    if magics not in getattr(ipython, "configurables", []):
        ipython.configurables.append(magics)
    return magics
