#!/usr/bin/env bash
# Benchmarks (release build): ingest, embedding vs bare ONNX Runtime, search latency.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
# The bench also starts the test broker and store stand-ins.
bash scripts/setup-test.sh
cargo run --release -p sluice-bench --quiet -- "$@"
