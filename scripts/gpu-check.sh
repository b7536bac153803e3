#!/usr/bin/env bash
# The runner on a real GPU (issue 11, item 10), for a machine with one NVIDIA GPU, Python 3.9+
# with pytest, torch, jax (CUDA build) and cupy, and no Rust and no network: it takes the
# repository tree and a gpu-ci binary built elsewhere.
#
#   scripts/gpu-check.sh [path/to/gpu-ci]      (default: target/release/gpu-ci)
#
# For torch, jax and cupy it makes a two-test project that touches the GPU, runs
# `gpu-ci run --local` on it (with `python3`: the projects have no .venv), checks the GPU report
# (devices, the CUDA version from nvidia-smi's banner, the framework seen from inside pytest) and
# measures what the report adds: nvidia-smi's part, plus pytest with the report plugin against
# pytest without it (median of four alternating runs each). Exits 1 if any run fails or the report adds 0.5 s or more.
# About two to four minutes.
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
gpu_ci="$(realpath "${1:-$repo/target/release/gpu-ci}")"
[ -x "$gpu_ci" ] || { echo "error: no gpu-ci binary at $gpu_ci" >&2; exit 2; }
command -v nvidia-smi >/dev/null || { echo "error: nvidia-smi is not on PATH" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
summary=()

# Failures are lines of a file, so that a failure inside $(...) counts too.
fail() {
  echo "FAIL: $*" | tee -a "$work/failures" >&2
}

# seconds, to the millisecond, that a command takes (its output discarded); a failure counts
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@" >/dev/null 2>&1 || fail "$* exited $?"
  end=$(date +%s.%N)
  python3 -c "print(f'{$end - $start:.3f}')"
}

median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" "$@"; }

project() {  # project NAME DEPENDENCY TESTS
  local dir="$work/$1"
  mkdir -p "$dir/tests"
  printf '[project]\nname = "%s-check"\nversion = "0"\ndependencies = ["%s"]\n' "$1" "$2" >"$dir/pyproject.toml"
  printf '%s\n' "$3" >"$dir/tests/test_gpu.py"
  echo "$dir"
}

check() {  # check FRAMEWORK DEPENDENCY TESTS
  local framework="$1" dir log
  if ! python3 -c "import $framework" >/dev/null 2>&1; then
    fail "$framework: not importable by python3 here; skipped"
    return
  fi
  dir="$(project "$1" "$2" "$3")"
  log="$work/$framework.log"
  echo "=== $framework ==="
  (cd "$dir" && "$gpu_ci" init --yes >/dev/null 2>&1) || fail "$framework: gpu-ci init failed"
  # No .venv in the project: --local runs the machine's python3.
  (cd "$dir" && timeout 180 "$gpu_ci" run --local >"$log" 2>&1)
  local code=$?
  grep -E '^  device: |^  CUDA version: |^gpu-ci GPU report: |^gpu-ci: [0-9]+ passed' "$log"
  [ "$code" = 0 ] || { fail "$framework: gpu-ci run --local exited $code"; tail -n 40 "$log"; }
  grep -q '^  device: ' "$log" || fail "$framework: no device line"
  grep -q 'WARNING: no GPU is visible' "$log" && fail "$framework: no GPU visible"
  local cuda driver
  cuda="$(sed -n 's/^  CUDA version: \([0-9.]*\).*/\1/p' "$log")"
  driver="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n 1)"
  [ -n "$cuda" ] || fail "$framework: no CUDA version line"
  [ "$cuda" != "$driver" ] || fail "$framework: the CUDA version is the driver's version ($driver)"
  grep -q "^gpu-ci GPU report: $framework: " "$log" || fail "$framework: no report from inside pytest"
  grep -Eq "^gpu-ci GPU report: $framework: .*(could not ask|not installed|sees no|backend cpu|sees \[\])" "$log" &&
    fail "$framework: the framework does not see the GPU"
  grep -q '^gpu-ci: 2 passed, 0 failed' "$log" || fail "$framework: the two tests did not pass"

  # What the report adds to billed time: nvidia-smi in the script, and the plugin in pytest.
  local plugin smi with without import
  # The plugin as the script installs it: a copy of itself named gpu_ci_report.
  plugin="$work/plugin-$framework"
  mkdir -p "$plugin"
  cp "$dir/.modal/in_container.py" "$plugin/gpu_ci_report.py"
  smi="$(cd "$dir" && python3 -c "
import runpy, time
ns = runpy.run_path('.modal/in_container.py')
start = time.perf_counter()
ns['nvidia_smi']()
print(f'{time.perf_counter() - start:.3f}')")"
  # Alternate the two, four times each, and compare medians: one run of a framework's import
  # varies by a second with the page cache.
  local runs_with=() runs_without=()
  for _ in 1 2 3 4; do
    runs_without+=("$(cd "$dir" && seconds python3 -m pytest -q -p no:cacheprovider tests)")
    runs_with+=("$(cd "$dir" && PYTHONPATH="$plugin${PYTHONPATH:+:$PYTHONPATH}" seconds python3 -m pytest -q -p no:cacheprovider -p gpu_ci_report tests)")
  done
  without="$(median "${runs_without[@]}")"
  with="$(median "${runs_with[@]}")"
  import="$(python3 -c "import time; s = time.perf_counter(); import $framework; print(f'{time.perf_counter() - s:.3f}')")"
  import="${import:-(failed)}"
  local added
  added="$(python3 -c "print(f'{$smi + max(0.0, $with - $without):.3f}')")"
  echo "report overhead: nvidia-smi ${smi} s + plugin (pytest ${with} s with, ${without} s without) = ${added} s; import $framework alone: ${import} s"
  python3 -c "import sys; sys.exit(0 if $added < 0.5 else 1)" || fail "$framework: the report adds ${added} s (0.5 s allowed)"
  summary+=("$framework: report adds ${added} s (nvidia-smi ${smi} s, pytest with/without the plugin ${with}/${without} s); import $framework ${import} s")
}

python3 -c "import pytest" 2>/dev/null || { echo "error: python3 has no pytest" >&2; exit 2; }
echo "gpu-ci: $("$gpu_ci" --version)   python3: $(python3 --version 2>&1)   pytest: $(python3 -m pytest --version 2>&1 | head -n 1)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

check torch torch "import torch


def test_tensor_lives_on_the_gpu():
    x = torch.ones(1024, device='cuda')
    assert x.device.type == 'cuda' and x.sum().item() == 1024


def test_gpu_matches_cpu():
    a = torch.randn(64, 64)
    assert torch.allclose((a.cuda() @ a.cuda()).cpu(), a @ a, atol=1e-3)"

check jax "jax[cuda12]" "import jax
import jax.numpy as jnp
import numpy as np


def test_the_backend_is_the_gpu():
    assert jax.default_backend() == 'gpu'
    assert jnp.ones(1024).sum().item() == 1024


def test_gpu_matches_cpu():
    a = np.random.rand(64, 64).astype(np.float32)
    # JAX multiplies float32 in TF32 on recent GPUs unless asked for full precision.
    b = jnp.matmul(jnp.asarray(a), jnp.asarray(a), precision='highest')
    assert np.allclose(np.asarray(b), a @ a, rtol=1e-4, atol=1e-4)"

check cupy cupy-cuda12x "import cupy as cp
import numpy as np


def test_array_lives_on_the_gpu():
    x = cp.ones(1024)
    assert x.device.id == 0 and int(x.sum()) == 1024


def test_gpu_matches_cpu():
    a = np.random.rand(64, 64)
    assert np.allclose(cp.asnumpy(cp.asarray(a) @ cp.asarray(a)), a @ a)"

echo "=== summary ==="
printf '%s\n' "${summary[@]}"
if [ -s "$work/failures" ]; then
  echo "$(wc -l <"$work/failures") failure(s):"
  cat "$work/failures"
  exit 1
fi
echo "all passed"
