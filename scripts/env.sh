# Sourced by the other scripts: one persistent build directory outside the
# clone, so repeated runs (and CI on the same machine) build incrementally.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sluice-target}"
export SLUICE_HOME="${SLUICE_HOME:-$HOME/.cache/sluice}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
