#!/usr/bin/env bash
# Installs ir-measures (PyPI; it brings pytrec_eval, the trec_eval
# library) into its own venv, so a test checks `sluice eval`'s metrics
# against the reference implementation (crates/sluice-cli/tests/eval.rs):
#   $SLUICE_HOME/eval-venv/bin/ir_measures
# Idempotent and cheap when done.
set -euo pipefail
bash "$(dirname "${BASH_SOURCE[0]}")/pip-tool.sh" eval-venv "ir-measures==0.3.7" ir_measures "retrieval metric reference"
