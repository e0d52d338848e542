#!/usr/bin/env bash
# README command 1: set up, build, ingest the bundled sample through the real
# engine into the embedded index, and answer hybrid search queries.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh

bash scripts/setup.sh
echo "==> building sluice"
cargo build -p sluice-cli --quiet
SLUICE="$CARGO_TARGET_DIR/debug/sluice"
DATA="${SLUICE_DATA_DIR:-$ROOT/.sluice-data}"

echo "==> validating pipelines/demo.yaml"
"$SLUICE" validate pipelines/demo.yaml
echo "==> syncing the sample (Confluence, Jira, GitLab, Slack shapes) into $DATA"
"$SLUICE" run pipelines/demo.yaml --data-dir "$DATA"
echo "==> re-running: unchanged documents are neither embedded nor written"
"$SLUICE" run pipelines/demo.yaml --data-dir "$DATA"

for q in "what does error code WMS-4102 mean" "why were some customers billed twice in june"; do
  echo
  echo "==> sluice search \"$q\""
  "$SLUICE" search "$q" --data-dir "$DATA" --top-k 3
done
echo
echo "Try: $SLUICE search \"<question>\" --data-dir $DATA   or   $SLUICE serve --no-auth --data-dir $DATA"
