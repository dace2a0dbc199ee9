"""Make ``%mia_audit`` available in every IPython kernel, without ``%load_ext``.

``pip install mia_notebook`` places this file in ``<sys.prefix>/etc/ipython/startup/``;
IPython runs it in each new kernel or terminal session of that environment. It imports
nothing heavy: ``%mia_audit`` / ``%%mia_audit`` are registered lazily, and the package
is imported (``%load_ext mia_notebook``) on first use.

A cell that mentions ``MiaAudit`` (``%config MiaAudit.redact = ["ssn"]``) loads the
extension just before it runs: ``%config`` only reaches configurables that exist, so
defaults set before the first audit (a redaction list!) would otherwise be lost.

Opt out with the environment variable ``MIA_NOTEBOOK_NO_AUTOLOAD=1``; then use
``%load_ext mia_notebook``. This file never raises: an IPython without lazy magics or a
removed package leaves the session as it would be without it.
"""


def _mia_notebook_autoload() -> None:
    import os

    flag = os.environ.get("MIA_NOTEBOOK_NO_AUTOLOAD", "").strip().lower()
    if flag not in ("", "0", "false", "no", "off"):
        return
    try:
        import importlib.util

        from IPython import get_ipython

        shell = get_ipython()
        if shell is None or importlib.util.find_spec("mia_notebook") is None:
            return
        manager = shell.magics_manager
        if "mia_audit" in manager.magics.get("line", {}):
            return  # already loaded
        register_lazy = getattr(manager, "register_lazy", None)
        if register_lazy is None:  # IPython < 8.9 has no lazy magics
            return
        register_lazy("mia_audit", "mia_notebook")

        def load_before(info: object = None) -> None:
            # Load on the first cell that names the %config section.
            cell = getattr(info, "raw_cell", None) or ""
            if "MiaAudit" not in cell:
                return
            try:
                shell.events.unregister("pre_run_cell", load_before)
                shell.extension_manager.load_extension("mia_notebook")
            except Exception:
                pass  # %mia_audit itself will report the problem

        shell.events.register("pre_run_cell", load_before)
    except Exception:
        pass


_mia_notebook_autoload()
del _mia_notebook_autoload
