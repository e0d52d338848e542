#!/usr/bin/env bash
# Embedding throughput (tokens/s) against the bare fp32 ONNX Runtime
# baseline, the int8 model's nDCG@10 against fp32, and (with --sluice PATH)
# the SciFact ingest against the baseline, in one run (release build).
# The SciFact train split is read from ../shared/data/scifact-train
# (--scifact DIR for another).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
bash scripts/setup.sh >/dev/null
cargo run --release -p sluice-bench-embed --quiet -- "$@"
