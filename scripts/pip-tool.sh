#!/usr/bin/env bash
# Installs one pinned PyPI package into its own venv under $SLUICE_HOME,
# once: the test-only tools (noida-db, schemathesis, ir-measures) share it.
#   bash scripts/pip-tool.sh <venv name> <pin> <executable it provides> <what it is for>
# Idempotent and cheap when done (a stamp records the pin installed).
set -euo pipefail
NAME="$1" PIN="$2" BIN="$3" PURPOSE="$4"
SLUICE_HOME="${SLUICE_HOME:-$HOME/.cache/sluice}"
PYTHON="${PYTHON:-python3}"
VENV="$SLUICE_HOME/$NAME"
STAMP="$VENV/.installed"

if [[ -x "$VENV/bin/$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$PIN" ]]; then
  exit 0
fi
echo "installing $PIN ($PURPOSE) into $VENV"
mkdir -p "$SLUICE_HOME"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "$PIN"
echo "$PIN" > "$STAMP"
