#!/usr/bin/env bash
# The embedded index at scale (release build): recall@10 of the vector
# graph against an exact scan on 100k real MiniLM embeddings, then resident
# memory (anonymous / file-mapped) and latency at 10k / 100k / 1M chunks.
# Embeddings and indexes are cached in benches/ann/data (1M: ~5 GB, ~20 min
# to write once). `--sizes 10000,100000` for a shorter run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
bash scripts/setup.sh >/dev/null
cargo run --release -p sluice-bench-ann --quiet -- all "$@"
