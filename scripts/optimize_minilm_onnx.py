#!/usr/bin/env python3
"""Fuse and quantise the exported all-MiniLM-L6-v2 graph for CPU inference.

Two outputs, both portable (no machine-specific kernels baked in):
  model-fused.onnx  fp32 with the transformer fusions of onnxruntime's own
                    `onnxruntime.transformers` optimiser: Attention, BiasGelu,
                    SkipLayerNormalization
  model-int8.onnx   the fused graph with dynamic int8 quantisation, per-channel
                    signed weights (`onnxruntime.quantization.quantize_dynamic`)

Why not save the session's own optimised graph (ORT_ENABLE_ALL +
optimized_model_filepath)? That file is tied to the CPU and ORT build that
wrote it; this optimiser only rewrites standard/contrib ops.

The exporter (export_minilm_onnx.py) writes the attention scale as a Div and
the mask as Unsqueeze-Unsqueeze-Cast-Sub-Mul, the shapes this optimiser's
attention fusion recognises.

Both files are byte-for-byte deterministic for the same inputs and pins;
setup-model.sh checks their SHA-256 against pinned values.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import sys
import tempfile
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers import optimizer
from onnxruntime.transformers.fusion_options import FusionOptions

HEADS = 12
HIDDEN = 384
LAYERS = 6
# What a fully fused graph holds: anything less means the exporter's graph
# drifted from the patterns the fusions match, and the "optimised" model
# would silently be the slow one.
EXPECTED_FUSIONS = {"Attention": LAYERS, "BiasGelu": LAYERS, "SkipLayerNormalization": 2 * LAYERS + 1}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_deterministic(model: onnx.ModelProto, out: Path) -> None:
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(model.SerializeToString(deterministic=True))
    tmp.replace(out)


def fuse(src: Path, out: Path) -> None:
    opts = FusionOptions("bert")
    # opt_level=0: only the Python fusions, no ORT session pass (whose output
    # would depend on this machine).
    m = optimizer.optimize_model(str(src), model_type="bert", num_heads=HEADS, hidden_size=HIDDEN,
                                 opt_level=0, use_gpu=False, optimization_options=opts)
    ops = collections.Counter(n.op_type for n in m.model.graph.node)
    missing = {op: (n, ops.get(op, 0)) for op, n in EXPECTED_FUSIONS.items() if ops.get(op, 0) != n}
    if missing:
        sys.exit(f"fusion incomplete (op: expected, got): {missing}; the exported graph no longer matches "
                 "onnxruntime.transformers' BERT patterns")
    m.model.producer_name = "sluice-optimize-minilm"
    m.model.producer_version = "1"
    with tempfile.TemporaryDirectory() as tmp:
        # save_model_to_file sorts the graph and declares the contrib-op domain.
        raw = Path(tmp) / "fused.onnx"
        m.save_model_to_file(str(raw))
        write_deterministic(onnx.load(str(raw)), out)


# Kept in fp32: the first layer's FFN output projection. Its input (the
# GELU output) has outlier channels that one per-tensor uint8 scale cannot
# hold; quantising it alone cost 0.005 of SciFact nDCG@10 (doc-level, 0.6602
# fp32 -> 0.6542 all-int8 -> 0.6596 with this one MatMul in fp32), for ~4 % of
# the speed.
FP32_NODE_PREFIXES = ("encoder.layer.0.output.dense.",)


def quantise(src: Path, out: Path) -> None:
    model = onnx.load(str(src))
    keep = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.name.startswith(FP32_NODE_PREFIXES)]
    if len(keep) != len(FP32_NODE_PREFIXES):
        sys.exit(f"expected one MatMul per prefix {FP32_NODE_PREFIXES}, found {keep}")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "q.onnx"
        # Fused contrib ops have no shape inference in `onnx`, hence the
        # default tensor type.
        quantize_dynamic(str(src), str(raw), per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=keep,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        write_deterministic(onnx.load(str(raw)), out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, type=Path, help="model.onnx from export_minilm_onnx.py")
    ap.add_argument("--out-dir", required=True, type=Path)
    args = ap.parse_args()
    fused = args.out_dir / "model-fused.onnx"
    int8 = args.out_dir / "model-int8.onnx"
    fuse(args.model, fused)
    quantise(fused, int8)
    for p in (fused, int8):
        print(f"wrote {p} ({p.stat().st_size} bytes, sha256 {sha256(p)})")


if __name__ == "__main__":
    main()
