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
rm -rf "$repo/mia_notebook/labextension"
jlpm build
cd "$repo"
if ! git diff --quiet -- mia_notebook/labextension \
   || [ -n "$(git ls-files --others --exclude-standard -- mia_notebook/labextension)" ]; then
  git status --short -- mia_notebook/labextension
  echo "mia_notebook/labextension differs from a build of labextension/:" \
       "run 'cd labextension && jlpm build' and commit the result." >&2
  exit 1
fi
echo "labextension: checks, unit tests and reproducible build OK"
