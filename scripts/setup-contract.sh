#!/usr/bin/env bash
# Installs schemathesis (PyPI), which checks the search API against its own
# OpenAPI document in both directions (tests/api.rs), into its own venv:
#   $SLUICE_HOME/contract-venv/bin/st
# Idempotent and cheap when done.
set -euo pipefail
bash "$(dirname "${BASH_SOURCE[0]}")/pip-tool.sh" contract-venv "schemathesis==4.32.5" st "API contract tests"
