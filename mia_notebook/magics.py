"""``%mia_audit`` / ``%%mia_audit``: parse, resolve variables, call the engine, display.

Thin by design: every number comes from :func:`mia_notebook.audit`. Input problems
(:class:`~mia_notebook.engine.errors.MiaError`) become a one-line ``UsageError``.

Every audit option's ``--flag`` and ``%config MiaAudit.<name>`` trait is generated
from the fields of :class:`~mia_notebook.engine.options.AuditOptions` (name, kind,
validator, help): adding an option there adds both here. The magic's own flags
(``--train``, ``--interactive``, ``-o``...) are call arguments, not options.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
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
from traitlets import (
    Bool,
    Dict,
    Enum,
    Float,
    Int,
    List,
    TraitError,
    TraitType,
    Unicode,
    Union,
    validate,
)
from traitlets.config import Configurable

from .engine.audit import audit
from .engine.cache import clear_cache
from .engine.compare import ComparisonReport, compare
from .engine.errors import MiaError
from .engine.options import (
    AuditOptions,
    OptionSpec,
    option_fields,
    option_names,
    plain_value,
    validate_option,
)
from .engine.results import AuditReport
from .engine.verdict import LEVELS, Verdict, check
from .magic_hints import column_hint, resolve_callable, unknown_args_hint
from .notebook_progress import NotebookProgress

__all__ = ["MiaAudit", "NotebookProgress", "option_trait", "register", "show_once"]

_METAVARS = {
    "names": "A,B",
    "floats": "X,Y",
    "int": "N",
    "float": "X",
    "text": "TEXT",
    "number_or_text": "X",
    "mapping": "K=V,...",
    "callable": "NAME",
}


def _in_kernel(shell: Any) -> bool:
    """True in a Jupyter kernel (rich display), False in terminal IPython or tests."""
    return shell is not None and getattr(shell, "kernel", None) is not None


def show_once(shell: Any, report: AuditReport | ComparisonReport) -> None:
    """Display ``report`` now, and let nothing display it again until the cell ends.

    The magic shows its report where it runs; when the magic is also the cell's last
    expression, IPython would show the returned report a second time. Until the
    execution ends, ``report`` gets a do-nothing printer in IPython's
    ``_ipython_display_`` formatter (by object identity, not type), so that display is
    dropped; a ``post_execute`` callback removes it. No bytecode is read, so this works
    wherever the magic sits (last line, middle, assignment, loop, function, ``-o``)
    and on every Python version.
    """
    display(report)
    if shell is None:
        return
    printers = shell.display_formatter.ipython_display_formatter.singleton_printers
    key = id(report)
    printers[key] = lambda obj: None

    def forget() -> None:
        if printers.get(key) is not None:
            printers.pop(key, None)
        shell.events.unregister("post_execute", forget)

    shell.events.register("post_execute", forget)


def option_trait(spec: OptionSpec, default: Any) -> TraitType[Any, Any]:
    """The ``%config`` trait of one option: its kind's trait type, its default and help
    (values are then checked by the option's own validator)."""
    value = plain_value(default)
    kw: dict[str, Any] = {"help": spec.help, "allow_none": spec.nullable}
    trait: TraitType[Any, Any]
    if spec.kind == "names":
        trait = Union([List(Unicode()), Unicode()], default_value=value, **kw)
    elif spec.kind == "floats":
        trait = Union([List(Float()), Float(), Unicode()], default_value=value, **kw)
    elif spec.kind == "int":
        trait = Int(value, **kw)
    elif spec.kind == "float":
        trait = Float(value, **kw)
    elif spec.kind == "text" and spec.choices:
        trait = Enum(list(spec.choices), default_value=value, **kw)
    elif spec.kind in ("text", "callable"):  # callable: a name (resolve_callable)
        trait = Unicode(value, **kw)
    elif spec.kind == "number_or_text":
        trait = Union([Float(), Unicode()], default_value=value, **kw)
    else:  # mapping
        trait = Union([Dict(), Unicode()], default_value=value, **kw)
    return trait.tag(config=True)


def _option_traits(namespace: dict[str, Any]) -> None:
    for name, spec, default in option_fields():
        namespace[name] = option_trait(spec, default)
    namespace["__doc__"] = "The audit options' %config defaults (generated from AuditOptions)."


#: One ``%config`` trait per audit option, generated (``%config MiaAudit.fpr = [0.01]``).
OptionTraits = types.new_class("MiaAuditOptions", (Configurable,), exec_body=_option_traits)


def option_flags(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add one ``--flag`` per audit option (``--lira-variance`` for ``lira_variance``)."""
    for name, spec, _ in reversed(option_fields()):
        func = argument(
            f"--{name.replace('_', '-')}", dest=name, metavar=_METAVARS[spec.kind], help=spec.help
        )(func)
    return func


@magics_class
class MiaAudit(Magics, OptionTraits):  # type: ignore[misc, valid-type]
    """Audit a fitted model for membership-inference risk.

    The configurable defaults (one per audit option) apply when an option is not given
    on the line.
    """

    progress = Bool(True, help="Show progress while reference models train.").tag(config=True)

    @validate(*option_names())
    def _check_config(self, proposal: Any) -> Any:
        """``%config MiaAudit.fpr = [2.0]`` fails when it is set, by the engine's rules."""
        name, value = proposal["trait"].name, proposal["value"]
        try:
            if not (name in _CALLABLE_OPTIONS and isinstance(value, str)):
                validate_option(name, value)
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

    def audit_options(
        self, args: Any = None, local_ns: dict[str, Any] | None = None
    ) -> AuditOptions:
        """The audit options of one line: each option's ``--flag`` when given, else its
        ``%config`` value (``redact``: both; a configured redaction stays); a callable
        option's name (``--fit NAME``) is looked up in ``local_ns``, then the user's."""
        values: dict[str, Any] = {}
        for name, spec, _ in option_fields():
            configured = getattr(self, name)
            given = None if args is None else getattr(args, name)
            if given is None:
                values[name] = configured
            elif spec.merge:
                both = [*validate_option(name, configured), *validate_option(name, given)]
                values[name] = list(dict.fromkeys(both))
            else:
                values[name] = given
            if name in _CALLABLE_OPTIONS:
                user_ns = self.shell.user_ns if self.shell is not None else {}
                flag = f"--{name.replace('_', '-')}"
                values[name] = resolve_callable(flag, values[name], (local_ns or {}, user_ns))
        return AuditOptions(**values)

    def _population(self, args: Any, local_ns: dict[str, Any] | None) -> Any:
        if args.population is None:
            return None
        return self._lookup(args.population, local_ns, "--population")

    def _run(self, args: Any, model: Any, local_ns: dict[str, Any] | None) -> Any:
        """``audit(model, ...)``, or ``compare(model, ...)`` when ``model`` is a dict."""
        for opt in ("train", "test", "target"):
            if getattr(args, opt) is None:
                raise UsageError(f"%mia_audit needs --{opt}. Example: {_EXAMPLE}")
        train = self._lookup(args.train, local_ns, "--train")
        test = self._lookup(args.test, local_ns, "--test")
        population = self._population(args, local_ns)
        run = compare if isinstance(model, dict) else audit
        try:
            return run(
                model,
                train=train,
                test=test,
                target=args.target,
                options=self.audit_options(args, local_ns),
                population=population,
                progress=self._progress(),
            )
        except MiaError as e:
            hint = column_hint(args.target, train=(args.train, train), test=(args.test, test))
            raise UsageError(hint if hint and args.target in str(e) else str(e)) from None

    def _progress(self) -> bool | NotebookProgress:
        if not self.progress:
            return False
        return NotebookProgress() if _in_kernel(self.shell) else True

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
    @argument("--population", help="Dataframe of extra same-distribution records.")
    @option_flags
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
            print(clear_cache())
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
            self._show_panel(report, model, self._population(args, ns))
            self._gate(report, args.fail_on)
            return None  # the panel is displayed (and updated in place); -o binds the report
        show_once(self.shell, report)  # here, and not again at the end of the cell
        self._gate(report, args.fail_on)
        return report

    @staticmethod
    def _verdict(report: AuditReport | ComparisonReport) -> Verdict:
        """The report's verdict; a comparison's is its riskiest model's."""
        if isinstance(report, ComparisonReport):
            return report.reports[report.riskiest].verdict
        return report.verdict

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

    @staticmethod
    def _show_panel(report: AuditReport, model: Any, population: Any) -> None:
        """The panel (``--interactive``): every Run repeats ``report.options``."""
        from .panel import show_panel

        show_panel(report, model=model, population=population)


#: Options whose flag and trait name a callable of the user namespace (``fit``).
_CALLABLE_OPTIONS = {name for name, spec, _ in option_fields() if spec.kind == "callable"}
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
