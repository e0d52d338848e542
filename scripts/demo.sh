#!/usr/bin/env bash
# README command 1: set up what the demo needs (the model), build and
# install `sluice` (without the remote backends: quicker), ingest the
# bundled sample through the real engine into the embedded index, and
# answer hybrid search queries. Prints how long each phase took.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source scripts/env.sh

phase_start=$SECONDS
phase() {
  local now=$SECONDS
  [[ -n "${PHASE:-}" ]] && TIMES+=("$PHASE: $((now - phase_start))s")
  PHASE="$1"
  phase_start=$now
  echo "==> $1"
}
TIMES=()
started=$SECONDS

phase "setting up ONNX Runtime and the model (scripts/setup.sh)"
bash scripts/setup.sh
phase "building and installing sluice into ${CARGO_HOME:-$HOME/.cargo}/bin (no Kafka/Qdrant/Elasticsearch: add them with --features full)"
# A debug build (the dev profile optimises the hot crates); installed where
# rustup puts cargo, so `sluice` is on PATH. --locked: Cargo.lock as is.
cargo install --quiet --locked --debug --force --no-default-features --path crates/sluice-cli
SLUICE="${CARGO_HOME:-$HOME/.cargo}/bin/sluice"
DATA="${SLUICE_DATA_DIR:-$ROOT/.sluice-data}"

phase "validating pipelines/demo.yaml"
"$SLUICE" validate pipelines/demo.yaml
phase "syncing the sample (Confluence, Jira, GitLab, Slack shapes) into $DATA"
"$SLUICE" run pipelines/demo.yaml --data-dir "$DATA"
phase "re-running: unchanged documents are neither embedded nor written"
"$SLUICE" run pipelines/demo.yaml --data-dir "$DATA"

for q in "what does error code WMS-4102 mean" "why were some customers billed twice in june"; do
  phase "sluice search \"$q\""
  "$SLUICE" search "$q" --data-dir "$DATA" --top-k 3 --related
done
phase "sluice related jira:PAY-254 --depth 2 (the link graph across sources)"
"$SLUICE" related jira:PAY-254 --depth 2 --limit 5 --data-dir "$DATA"
phase "done"
echo
for t in "${TIMES[@]}"; do echo "  $t"; done
echo "  total: $((SECONDS - started))s"
echo
echo "Try: sluice search \"<question>\" --data-dir $DATA   or   sluice serve --no-auth --data-dir $DATA"
echo "(sluice is $SLUICE)"
