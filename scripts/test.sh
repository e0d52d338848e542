#!/usr/bin/env bash
# README command 2 (and CI): the whole test suite.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh

bash scripts/setup.sh
cargo test --workspace --no-fail-fast
