"""Reading the static report's "Their rows" table (person=) back as cell texts."""

from __future__ import annotations

import html
import re


def static_person_rows(page: str) -> tuple[list[str], list[list[str]]]:
    """The header and the cells' texts (index first) of the flagged people's rows."""
    table = page.split("<summary>Their rows:")[1].split("</details>")[0]
    head, body = table.split("<tbody>")
    cells = re.compile(r"<t[dh](?:\s[^>]*)?>(.*?)</t[dh]>", flags=re.S)
    rows = [
        [html.unescape(c) for c in cells.findall(tr)]
        for tr in re.findall(r"<tr(?:\s[^>]*)?>(.*?)</tr>", body, flags=re.S)
    ]
    return [html.unescape(c) for c in cells.findall(head)], rows
