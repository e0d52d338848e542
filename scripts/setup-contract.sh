#!/usr/bin/env bash
# Installs schemathesis (PyPI), which checks the search API against its own
# OpenAPI document in both directions (tests/api.rs), into its own venv:
#   $SLUICE_HOME/contract-venv/bin/st
# Idempotent and cheap when done.
set -euo pipefail
SLUICE_HOME="${SLUICE_HOME:-$HOME/.cache/sluice}"
PYTHON="${PYTHON:-python3}"
VENV="$SLUICE_HOME/contract-venv"
PIN="schemathesis==4.32.5"
STAMP="$VENV/.installed"

if [[ -x "$VENV/bin/st" && -f "$STAMP" && "$(cat "$STAMP")" == "$PIN" ]]; then
  exit 0
fi
echo "setup-contract: installing $PIN (API contract tests)"
mkdir -p "$SLUICE_HOME"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "$PIN"
echo "$PIN" > "$STAMP"
