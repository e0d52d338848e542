#!/usr/bin/env bash
# Installs the Elasticsearch API emulator the round-trip tests use,
# `noida-db` 0.2.3 from PyPI (a binary-only wheel), into its own venv:
#   $SLUICE_HOME/stores-venv/bin/noida-db
# Neither Elasticsearch nor OpenSearch nor Qdrant installs from a package
# registry here; Qdrant tests use the gRPC server over qdrant-edge (a crate),
# so only this needs installing. Idempotent and cheap when done.
set -euo pipefail
SLUICE_HOME="${SLUICE_HOME:-$HOME/.cache/sluice}"
PYTHON="${PYTHON:-python3}"
VENV="$SLUICE_HOME/stores-venv"
PIN="noida-db==0.2.3"
STAMP="$VENV/.installed"

if [[ -x "$VENV/bin/noida-db" && -f "$STAMP" && "$(cat "$STAMP")" == "$PIN" ]]; then
  exit 0
fi
echo "setup-stores: installing $PIN (Elasticsearch API emulator for tests)"
mkdir -p "$SLUICE_HOME"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "$PIN"
echo "$PIN" > "$STAMP"
