#!/usr/bin/env bash
# Shards on a real GPU (issue 15, item 5), for a machine with an NVIDIA GPU, Python 3.9+ with
# pytest and torch (a CUDA build), and no Rust and no network: it takes the repository tree and
# a gpu-ci binary built elsewhere.
#
#   scripts/gpu-check-shards.sh [path/to/gpu-ci]      (default: target/release/gpu-ci)
#
# It makes a torch project of two test files (two GPU tests each), runs `gpu-ci run --local
# --shards 2` on it (with `python3`: the project has no .venv) and checks that both shards ran
# tests and that each shard's pytest saw the GPU (its own `gpu-ci GPU report: torch:` line),
# that every test ran once, and that the merged JUnit XML counts all four; then the same suite
# serially, for the wall times. About a minute. Exits 1 if a check fails.
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
gpu_ci="$(realpath "${1:-$repo/target/release/gpu-ci}")"
[ -x "$gpu_ci" ] || { echo "error: no gpu-ci binary at $gpu_ci" >&2; exit 2; }
command -v nvidia-smi >/dev/null || { echo "error: nvidia-smi is not on PATH" >&2; exit 2; }
python3 -c "import pytest, torch" 2>/dev/null || { echo "error: python3 has no pytest or no torch" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

echo "gpu-ci: $("$gpu_ci" --version)   python3: $(python3 --version 2>&1)   torch: $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)')"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader

dir="$work/shards-check"
mkdir -p "$dir/tests"
printf '[project]\nname = "shards-check"\nversion = "0"\ndependencies = ["torch"]\n' >"$dir/pyproject.toml"
for part in one two; do
  cat >"$dir/tests/test_$part.py" <<EOF
import os
import pathlib

import torch


def record(name):
    # Which process ran which test: every test must run exactly once, in some shard.
    with (pathlib.Path(__file__).resolve().parents[2] / "ran.txt").open("a") as f:
        f.write(f"{name} {os.getpid()} {torch.cuda.get_device_name(0)}\n")


def test_${part}_tensor_lives_on_the_gpu():
    record("$part-tensor")
    x = torch.ones(1024, device="cuda")
    assert x.device.type == "cuda" and x.sum().item() == 1024


def test_${part}_gpu_matches_cpu():
    record("$part-matmul")
    a = torch.randn(64, 64)
    assert torch.allclose((a.cuda() @ a.cuda()).cpu(), a @ a, atol=1e-3)
EOF
done

(cd "$dir" && "$gpu_ci" init --yes >/dev/null 2>&1) || fail "gpu-ci init failed"
log="$work/sharded.log"
start=$(date +%s.%N)
(cd "$dir" && timeout 300 "$gpu_ci" run --local --shards 2 >"$log" 2>&1)
code=$?
sharded=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
grep -E '^  device: |^  CUDA version: |^gpu-ci: .*split into|^\[shard [12]/2\] gpu-ci GPU report: |^\[shard [12]/2\] .*(PASSED|FAILED)|^gpu-ci: [0-9]+ passed' "$log"
[ "$code" = 0 ] || { fail "gpu-ci run --local --shards 2 exited $code"; tail -n 60 "$log"; }
grep -q '^  device: ' "$log" || fail "no device line from nvidia-smi"
grep -q 'WARNING: no GPU is visible' "$log" && fail "no GPU visible"
for shard in 1 2; do
  line="$(grep "^\[shard $shard/2\] gpu-ci GPU report: torch: " "$log")"
  [ -n "$line" ] || { fail "shard $shard: no GPU report from inside its pytest"; continue; }
  echo "$line" | grep -Eq 'sees \[.+\]' || fail "shard $shard: torch does not see the GPU: $line"
  echo "$line" | grep -Eq 'sees no CUDA device|could not ask|not installed|sees \[\]' && fail "shard $shard: $line"
  grep -Eq "^\[shard $shard/2\] tests/test_[a-z]+\.py::test_.* PASSED" "$log" || fail "shard $shard ran no test"
done
grep -q '^gpu-ci: 4 passed, 0 failed' "$log" || fail "the four tests did not all pass"
ran="$(cut -d ' ' -f 1 "$work/ran.txt" 2>/dev/null | sort | tr '\n' ' ')"
[ "$ran" = "one-matmul one-tensor two-matmul two-tensor " ] || fail "each test must run exactly once; ran: $ran"
[ "$(cut -d ' ' -f 2 "$work/ran.txt" | sort -u | wc -l)" -ge 2 ] || fail "the tests ran in fewer than two processes"
grep -q 'tests="4"' "$dir/test-outputs/junit.xml" || fail "the merged JUnit XML does not count 4 tests"
for shard in 1 2; do
  [ -f "$dir/test-outputs/runs/shard-$shard-of-2/junit.xml" ] || fail "no JUnit XML for shard $shard"
done
echo "processes and devices:"
sort "$work/ran.txt"

rm -f "$work/ran.txt"
start=$(date +%s.%N)
(cd "$dir" && timeout 300 "$gpu_ci" run --local >"$work/serial.log" 2>&1) || fail "the serial run failed"
serial=$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")
echo "wall time: --shards 2 ${sharded} s, serial ${serial} s (each shard starts its own pytest and imports torch)"

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all passed"
