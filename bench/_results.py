"""Write one benchmark's section of ``bench/results.md`` (other sections are kept).

Each benchmark owns the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->``;
a lock file serialises concurrent writers.
"""

from __future__ import annotations

import fcntl
import platform
import re
import resource
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results.md")
_HEADER = (
    "# Benchmark results\n\n"
    "Written by the scripts in `bench/`; each section says how to re-run it.\n"
)


def machine() -> str:
    """One line describing where and when the numbers were measured."""
    import os

    import numpy as np
    import sklearn

    return (
        f"{time.strftime('%Y-%m-%d %H:%M')} · {platform.machine()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · numpy {np.__version__} · "
        f"scikit-learn {sklearn.__version__}"
    )


def max_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ru_maxrss is KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 1024**2


def write_section(name: str, markdown: str) -> Path:
    """Replace (or append) section ``name`` of ``bench/results.md`` with ``markdown``."""
    lock = RESULTS.with_suffix(".lock")
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        text = RESULTS.read_text() if RESULTS.exists() else _HEADER
        block = f"<!-- BEGIN {name} -->\n{markdown.rstrip()}\n<!-- END {name} -->"
        pattern = re.compile(
            rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S
        )
        text = (
            pattern.sub(lambda _: block, text)
            if pattern.search(text)
            else (text.rstrip() + "\n\n" + block + "\n")
        )
        RESULTS.write_text(text)
    return RESULTS
