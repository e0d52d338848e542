#!/usr/bin/env bash
# README command 2 (and CI): the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh

bash scripts/setup-test.sh
# Modules inside a crate must not import each other in a cycle.
python3 tools/check_module_cycles.py
# The engine, API and daemon know no concrete component; no shipped binary links test servers.
bash tools/check_layers.sh
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --all-targets --no-fail-fast 2>&1 | tee "$log" || status=$?

# One closing line for the whole suite (cargo prints one per test binary).
passed=$(grep -Eo '^test result: .* ([0-9]+) passed' "$log" | grep -Eo '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '^test result: .* ([0-9]+) failed' "$log" | grep -Eo '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
echo
echo "sluice: ${passed} passed, ${failed} failed"
if [[ "$status" -ne 0 || "$failed" -ne 0 ]]; then
  exit 1
fi
if [[ "$passed" -eq 0 ]]; then
  echo "no tests ran" >&2
  exit 1
fi
