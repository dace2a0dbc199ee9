#!/usr/bin/env bash
# CI for the JupyterLab 4 / Notebook 7 extension (labextension/ -> mia_notebook/labextension).
# The built assets are committed (so `pip install` needs no node); this script rebuilds them
# from the sources with the locked dependencies and fails if they differ. It also
# type-checks and format-checks the TypeScript and runs its unit tests on a fresh audit.
# Needs node 20 and the Python dev environment (jlpm comes with jupyterlab).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd labextension
jlpm install --immutable
jlpm check
python test/make_fixture.py "$tmp/fixture.json"
MIA_FIXTURE="$tmp/fixture.json" jlpm test
# Rebuild into a scratch copy of the output folder and compare with what is committed.
# webpack names the container entry (static/remoteEntry.<hash>.js) by ids derived from the
# build's absolute path, so that one file (and package.json's pointer to it) legitimately
# differs between checkouts; every chunk with code, the styles and the rest of
# package.json must match byte for byte.
cp -r "$repo/mia_notebook/labextension" "$tmp/committed"
rm -rf "$repo/mia_notebook/labextension"
jlpm build
cd "$repo"
status=0
python - "$tmp/committed" mia_notebook/labextension <<'PY' || status=1
import json, sys
from pathlib import Path

committed, built = (Path(p) for p in sys.argv[1:3])

def files(root):
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()
            and not p.name.startswith("remoteEntry.")}

def meta(root):
    data = json.loads((root / "package.json").read_text())
    data.get("jupyterlab", {}).get("_build", {}).pop("load", None)
    return data

a, b = files(committed), files(built)
bad = sorted(set(a) ^ set(b)) + sorted(
    k for k in set(a) & set(b) if k != "package.json" and a[k].read_bytes() != b[k].read_bytes()
)
if meta(committed) != meta(built):
    bad.append("package.json")
if len(list(built.glob("static/remoteEntry.*.js"))) != 1:
    bad.append("static/remoteEntry.*.js")
if bad:
    print("differ:", *bad, sep="\n  ")
    sys.exit(1)
PY
# Leave the committed assets in place (the tests and the README's install use them).
rm -rf mia_notebook/labextension
cp -r "$tmp/committed" mia_notebook/labextension
if [ "$status" -ne 0 ]; then
  echo "mia_notebook/labextension differs from a build of labextension/:" \
       "run 'cd labextension && jlpm build' and commit the result." >&2
  exit 1
fi
echo "labextension: checks, unit tests and reproducible build OK"
