#!/usr/bin/env bash
# Installs ir-measures (PyPI; it brings pytrec_eval, the trec_eval
# library) into its own venv, so a test checks `sluice eval`'s metrics
# against the reference implementation (crates/sluice-cli/tests/eval.rs):
#   $SLUICE_HOME/eval-venv/bin/ir_measures
# Idempotent and cheap when done.
set -euo pipefail
SLUICE_HOME="${SLUICE_HOME:-$HOME/.cache/sluice}"
PYTHON="${PYTHON:-python3}"
VENV="$SLUICE_HOME/eval-venv"
PIN="ir-measures==0.3.7"
STAMP="$VENV/.installed"

if [[ -x "$VENV/bin/ir_measures" && -f "$STAMP" && "$(cat "$STAMP")" == "$PIN" ]]; then
  exit 0
fi
echo "setup-eval: installing $PIN (retrieval metric reference)"
mkdir -p "$SLUICE_HOME"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "$PIN"
echo "$PIN" > "$STAMP"
