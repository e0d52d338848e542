#!/usr/bin/env bash
# Installs the Elasticsearch API emulator the round-trip tests use,
# `noida-db` 0.2.3 from PyPI (a binary-only wheel), into its own venv:
#   $SLUICE_HOME/stores-venv/bin/noida-db
# Neither Elasticsearch nor OpenSearch nor Qdrant installs from a package
# registry here; Qdrant tests use the gRPC server over qdrant-edge (a crate),
# so only this needs installing. Idempotent and cheap when done.
set -euo pipefail
bash "$(dirname "${BASH_SOURCE[0]}")/pip-tool.sh" stores-venv "noida-db==0.2.3" noida-db "Elasticsearch API emulator for tests"
