#!/usr/bin/env bash
# Installs the Kafka-protocol broker the integration tests start on
# 127.0.0.1: tansu (a Kafka broker written in Rust) from crates.io, built
# once into $SLUICE_HOME/tools and reused (≈6.5 min and 1.7 GB peak the
# first time; instant afterwards). No Apache Kafka distribution installs
# from the package registries, and Debian's librdkafka is too old to talk
# to tansu, so the clients use rdkafka's bundled librdkafka instead.
#
# Prints nothing but progress; the binary is at
#   $SLUICE_HOME/tools/tansu-0.6.0/bin/tansu
set -euo pipefail
SLUICE_HOME="${SLUICE_HOME:-$HOME/.cache/sluice}"
TANSU_VERSION=0.6.0
ROOT_DIR="$SLUICE_HOME/tools/tansu-$TANSU_VERSION"
BIN="$ROOT_DIR/bin/tansu"
log() { echo "setup-kafka: $*"; }

mkdir -p "$SLUICE_HOME/tools"
exec 8>"$SLUICE_HOME/tools/.tansu.lock"
flock 8

if [[ -x "$BIN" ]]; then
  log "tansu $TANSU_VERSION present ($BIN)"
  exit 0
fi
log "building tansu $TANSU_VERSION from crates.io (first time only, several minutes)"
# The default features compile no storage engine; libsql gives sqlite://.
CARGO_TARGET_DIR="$SLUICE_HOME/tools/tansu-build" \
  cargo install tansu --version "$TANSU_VERSION" --locked --no-default-features --features libsql \
  --root "$ROOT_DIR" --quiet
rm -rf "$SLUICE_HOME/tools/tansu-build"
"$BIN" --version >/dev/null 2>&1 || "$BIN" --help >/dev/null
log "tansu installed at $BIN"
