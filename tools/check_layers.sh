#!/usr/bin/env bash
# The layering the README's crate table promises, checked on the dependency
# graph (no build): the engine knows no concrete connector, store, index or
# transport; the search API knows no store; no shipped binary links the
# test servers, the fixtures or the broker launcher.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fail=0
deps() { cargo tree -q -p "$1" -e normal --prefix none "${@:2}" | sed 's/ (\*)$//' | awk '{print $1}' | sort -u; }
forbid() {
  local crate="$1" pattern="$2" why="$3"; shift 3
  local hits
  hits="$(deps "$crate" "$@" | grep -E "^($pattern)$" || true)"
  if [[ -n "$hits" ]]; then
    echo "layering: $crate must not depend on $(echo $hits | tr '\n' ' ')($why)" >&2
    fail=1
  fi
}
impls='sluice-files|sluice-confluence|sluice-jira|sluice-gitlab|sluice-slack|sluice-index|sluice-qdrant|sluice-elastic|sluice-kafka'
testing='sluice-testservers|sluice-fixtures'
forbid sluice-engine "$impls" "it knows the traits of sluice-core only"
forbid sluice-api "$impls|sluice-engine" "it serves any SearchBackend"
forbid sluice-daemon "$impls" "it gets a Registry from its caller"
forbid sluice-cli "$testing" "a shipped binary" --features full
forbid sluice-cli "$testing" "a shipped binary" --no-default-features
[[ "$fail" == 0 ]] && echo "layering: ok"
exit "$fail"
