#!/usr/bin/env bash
# Retrieval latency, now vs before issue 20, on the index `sluice eval` built
# (release build). Build that index first with the README's eval command;
# pass --index DIR/index for another data dir.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh
bash scripts/setup.sh >/dev/null
cargo run --release -p sluice-bench-search --quiet -- "$@"
