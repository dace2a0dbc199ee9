"""``%mia_audit`` / ``%%mia_audit``: parse, resolve variables, call the engine, display.

Thin by design: every number comes from :func:`mia_notebook.audit`. Input problems
(:class:`~mia_notebook.engine.errors.MiaError`) become a one-line ``UsageError``.
Defaults are traitlets, so ``%config MiaAudit.flag = 20`` works.
"""

from __future__ import annotations

import dis
import sys
from collections.abc import Sequence
from types import FrameType
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
from IPython.display import display
from IPython.utils.process import arg_split
from traitlets import Bool, Dict, Float, Int, List, TraitError, Unicode, validate
from traitlets.config import Configurable

from .engine.audit import audit
from .engine.cache import CACHE
from .engine.compare import ComparisonReport, compare
from .engine.errors import MiaError
from .engine.options import DEFAULT_REFERENCES, validate_option
from .engine.results import AuditReport
from .engine.verdict import LEVELS, Verdict, check
from .magic_hints import column_hint, unknown_args_hint
from .notebook_progress import NotebookProgress

__all__ = ["MiaAudit", "NotebookProgress", "register"]


def _in_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (rich display), False in terminal IPython or tests."""
    return shell is not None and getattr(shell, "kernel", None) is not None


def _displayed_by_ipython(shell: Any) -> bool:
    """Whether IPython itself will display the value the running magic returns.

    It does when the magic is an expression statement that IPython runs in ``'single'``
    mode (by default the last line of a cell): the instruction after the call to
    ``run_line_magic`` / ``run_cell_magic`` then prints its result. Anywhere else (a
    ``print`` after it, an assignment, a function body) the value would be dropped.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and not (
        frame.f_code.co_name in ("run_line_magic", "run_cell_magic")
        and str(frame.f_globals.get("__name__", "")).startswith("IPython.")
    ):
        frame = frame.f_back
    caller = frame.f_back if frame is not None else None
    if caller is None or shell is None or shell.displayhook.quiet():
        return False
    after = (i for i in dis.get_instructions(caller.f_code) if i.offset > caller.f_lasti)
    following = next(after, None)  # the instruction that receives the magic's result
    # Python 3.10/3.11: PRINT_EXPR; 3.12+: CALL_INTRINSIC_1 INTRINSIC_PRINT
    return following is not None and (
        following.opname == "PRINT_EXPR" or following.argrepr == "INTRINSIC_PRINT"
    )


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


# Traits checked by the engine's option rules when set (``progress`` is a plain Bool).
_CONFIG_CHECKED = (
    "attacks",
    "fpr",
    "flag",
    "seed",
    "redact",
    "confidence",
    "delta",
    "references",
    "n_jobs",
    "lira_variance",
    "policy",
    "outputs",
)


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
    references = Int(
        None,
        allow_none=True,
        help=f"Reference models for LiRA / RMIA / shadow attacks; None: the engine's "
        f"default ({DEFAULT_REFERENCES}).",
    ).tag(config=True)
    n_jobs = Int(
        None,
        allow_none=True,
        help="Parallel reference fits (joblib); None: joblib's parallel_config or all cores.",
    ).tag(config=True)
    lira_variance = Unicode("auto", help="LiRA variance: auto, per-record or global.").tag(
        config=True
    )
    policy = Dict(
        help="The verdict's policy, e.g. {'tpr_high': 0.1} (keys of mia_notebook.Policy; "
        "empty: the defaults, see docs/verdict.md)."
    ).tag(config=True)

    outputs = Unicode(
        "proba", help="What-if for the API: proba (default), label, topk:K or round:D."
    ).tag(config=True)

    @validate(*_CONFIG_CHECKED)
    def _check_config(self, proposal: Any) -> Any:
        """``%config MiaAudit.fpr = [2.0]`` fails when it is set, by the engine's rules."""
        try:
            validate_option(proposal["trait"].name, proposal["value"])
        except MiaError as e:
            raise TraitError(str(e)) from None
        return proposal["value"]

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

    def _models(self, names: str, local_ns: dict[str, Any] | None) -> dict[str, Any]:
        """``m1,m2:label,m2:round:2`` -> {name: model or (model, outputs)} for compare()."""
        models: dict[str, Any] = {}
        for item in (v.strip() for v in names.split(",")):
            var, _, form = item.partition(":")
            if not var:
                raise UsageError(f"Empty model name in '{names}'. Example: {_COMPARE_EXAMPLE}")
            if item in models:
                raise UsageError(
                    f"The model '{item}' appears twice in '{names}'. Name each model once "
                    f"(a what-if as name:outputs, e.g. {var}:label)."
                )
            model = self._lookup(var, local_ns, "the model")
            models[item] = (model, form) if form else model
        return models

    def _run(self, args: Any, model: Any, local_ns: dict[str, Any] | None) -> Any:
        """``audit(model, ...)``, or ``compare(model, ...)`` when ``model`` is a dict."""
        for opt in ("train", "test", "target"):
            if getattr(args, opt) is None:
                raise UsageError(f"%mia_audit needs --{opt}. Example: {_EXAMPLE}")
        train = self._lookup(args.train, local_ns, "--train")
        test = self._lookup(args.test, local_ns, "--test")
        redact = list(dict.fromkeys([*self.redact, *(_split(args.redact) or [])]))
        population = (
            None
            if args.population is None
            else self._lookup(args.population, local_ns, "--population")
        )
        run = compare if isinstance(model, dict) else audit
        try:
            return run(
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
                references=self.references if args.references is None else args.references,
                population=population,
                n_jobs=self.n_jobs if args.n_jobs is None else args.n_jobs,
                lira_variance=args.lira_variance or self.lira_variance,
                policy=dict(self.policy) or None,
                outputs=args.outputs or self.outputs,
                progress=self._progress(),
            )
        except MiaError as e:
            hint = column_hint(args.target, train=(args.train, train), test=(args.test, test))
            raise UsageError(hint if hint and args.target in str(e) else str(e)) from None

    def _progress(self) -> bool | NotebookProgress:
        if not self.progress:
            return False
        return NotebookProgress() if _in_kernel(self.shell) else True

    @staticmethod
    def _clear_cache() -> None:
        n_items, n_bytes = len(CACHE), CACHE.nbytes
        CACHE.clear()
        print(
            f"Cleared the audit cache: freed {n_bytes / 1024**2:.1f} MB in {n_items} "
            f"entr{'y' if n_items == 1 else 'ies'}."
        )

    # ------------------------------------------------------------ the magic
    @magic_arguments()
    @argument(
        "model",
        nargs="?",
        help="Name of the fitted model (line magic); several, "
        "comma-separated (name:outputs for a what-if), compare them.",
    )
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
    @argument(
        "--references",
        type=int,
        help=f"Reference models for lira/rmia/shadow (default {DEFAULT_REFERENCES}).",
    )
    @argument("--population", help="Dataframe of extra same-distribution records.")
    @argument("--n-jobs", dest="n_jobs", type=int, help="Parallel reference fits (joblib).")
    @argument(
        "--lira-variance",
        dest="lira_variance",
        help="LiRA variance: auto (default), per-record or global.",
    )
    @argument("--outputs", help="What-if for the API: proba (default), label, topk:K or round:D.")
    @argument(
        "--clear-cache",
        dest="clear_cache",
        action="store_true",
        help="Clear the cache of model outputs and reference models, then stop.",
    )
    @argument(
        "--fail-on",
        dest="fail_on",
        choices=LEVELS[1:],
        help="Show the report, then raise PrivacyRiskError (failing nbconvert, "
        "papermill, nbmake) when the risk level is at least this.",
    )
    @argument(
        "--interactive",
        action="store_true",
        help="Show the report with a panel of controls (ipywidgets).",
    )
    @argument("-o", "--out", help="Bind the report to this variable.")
    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def mia_audit(
        self, line: str, cell: str | None = None, local_ns: dict[str, Any] | None = None
    ) -> AuditReport | ComparisonReport | None:
        """Audit MODEL for membership-inference risk on --train (members) vs --test.

        Line:  %mia_audit clf --train train_df --test test_df --target label
        Compare models (name:outputs for a what-if; the first is the baseline):
               %mia_audit rf,logreg,rf:label --train train_df --test test_df --target label
        Cell:  %%mia_audit --model clf --train train_df --test test_df --target label
               clf = RandomForestClassifier().fit(...)
        """
        args = self._parse(line)
        if args.clear_cache:
            self._clear_cache()
            return None
        if cell is not None:
            if self.shell is not None:
                self.shell.ex(cell)
            name = args.model_opt or args.model
        else:
            name = args.model or args.model_opt
        if not name:
            raise UsageError(f"%mia_audit needs a model. Example: {_EXAMPLE}")
        ns = local_ns if cell is None else None
        if "," in name and args.interactive:
            raise UsageError("--interactive shows one model; compare models without it.")
        model = self._models(name, ns) if "," in name else self._lookup(name, ns, "the model")
        report = self._run(args, model, ns)
        if args.out and self.shell is not None:
            if not args.out.isidentifier():
                raise UsageError(f"-o needs a variable name. Got '{args.out}'.")
            self.shell.user_ns[args.out] = report
        if args.interactive:
            ns = local_ns if cell is None else None
            population = (
                None
                if args.population is None
                else self._lookup(args.population, ns, "--population")
            )
            self._show_panel(report, model, args, population)
            self._gate(report, args.fail_on)
            return None  # the panel is displayed (and updated in place); -o binds the report
        if not _displayed_by_ipython(self.shell) or self._fails(report, args.fail_on):
            display(report)  # once, wherever the magic sits in the cell
        self._gate(report, args.fail_on)
        return report

    @staticmethod
    def _verdict(report: AuditReport | ComparisonReport) -> Verdict:
        """The report's verdict; a comparison's is its riskiest model's."""
        if isinstance(report, ComparisonReport):
            return report.reports[report.riskiest].verdict
        return report.verdict

    def _fails(self, report: AuditReport | ComparisonReport, fail_on: str | None) -> bool:
        """Whether ``--fail-on`` will raise (then the report is displayed first)."""
        if fail_on is None:
            return False
        return LEVELS.index(self._verdict(report).level) >= LEVELS.index(fail_on)

    def _gate(self, report: AuditReport | ComparisonReport, fail_on: str | None) -> None:
        """``--fail-on LEVEL``: raise :class:`PrivacyRiskError` (after the report is
        shown) so that nbconvert, papermill and nbmake fail the run."""
        if fail_on is not None:
            check(self._verdict(report), fail_on=fail_on)

    def _parse(self, line: str) -> Any:
        """Parse the magic's line; unknown words raise a ``UsageError`` that says the fix."""
        parser = self.mia_audit.parser
        # posix=True so that quoted names ('mean radius') lose their quotes
        tokens = arg_split(line, posix=True)
        args, unknown = parser.parse_known_args(tokens)
        if unknown:
            raise UsageError(unknown_args_hint(unknown, tokens, options=_options(parser)))
        return args

    def _show_panel(self, report: AuditReport, model: Any, args: Any, population: Any) -> None:
        from .panel import show_panel

        show_panel(
            report,
            model=model,
            train=report.data.train,
            test=report.data.test,
            confidence=self.confidence,
            delta=self.delta,
            n_jobs=self.n_jobs if args.n_jobs is None else args.n_jobs,
            lira_variance=args.lira_variance or self.lira_variance,
            population=population,
        )


_EXAMPLE = "%mia_audit clf --train train_df --test test_df --target label"
_COMPARE_EXAMPLE = "%mia_audit rf,logreg,rf:label --train train_df --test test_df --target label"


def _options(parser: Any) -> Sequence[str]:
    """Every option string the parser accepts (``--attacks``, ``-o``...)."""
    return [s for action in parser._actions for s in action.option_strings]


def register(ipython: Any) -> MiaAudit:
    """Register the magics (and their ``%config`` section) with ``ipython``."""
    magics = MiaAudit(shell=ipython)
    ipython.register_magics(magics)
    if magics not in getattr(ipython, "configurables", []):
        ipython.configurables.append(magics)
    return magics
