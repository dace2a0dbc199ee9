"""The README's table of audit options is the fields of AuditOptions.

The table between ``<!-- options-table -->`` markers is generated from the fields (name,
flag, help, default): after adding an option, refresh it with
``python tests/test_docs.py --write``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from mia_notebook.engine.options import option_fields, plain_value

README = Path(__file__).parents[1] / "README.md"
START, END = "<!-- options-table -->", "<!-- /options-table -->"


def _default(value: object) -> str:
    plain = plain_value(value)
    if plain is None:
        return "none"
    if isinstance(plain, list):
        return f"`{','.join(str(v) for v in plain)}`" if plain else "none"
    return f"`{plain}`"


def options_table() -> str:
    """The markdown table of every audit option, from the fields of AuditOptions."""
    rows = [
        "| option: `audit(name=)`, `--flag`, `%config MiaAudit.name` | meaning | default |",
        "| --- | --- | --- |",
    ]
    for name, spec, default in option_fields():
        flag = f"--{name.replace('_', '-')}"
        kind = "view" if spec.view else "compute"
        rows.append(
            f"| `{name}`, `{flag}` ({kind}) | {spec.help.replace('|', '/')} | {_default(default)} |"
        )
    return "\n".join(rows)


def _block(text: str) -> re.Match[str]:
    found = re.search(rf"{re.escape(START)}\n(.*?){re.escape(END)}", text, re.S)
    assert found, f"README.md has no {START} ... {END} block"
    return found


def test_readme_lists_every_option_as_defined() -> None:
    assert _block(README.read_text(encoding="utf-8")).group(1) == options_table() + "\n", (
        "The README's options table is out of date: python tests/test_docs.py --write"
    )


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    text = README.read_text(encoding="utf-8")
    block = _block(text)
    fresh = f"{START}\n{options_table()}\n{END}"
    README.write_text(text[: block.start()] + fresh + text[block.end() :], encoding="utf-8")
