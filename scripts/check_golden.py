#!/usr/bin/env python3
"""Check the exported all-MiniLM-L6-v2 ONNX model against known sentence similarities.

The reference numbers are what sentence-transformers' all-MiniLM-L6-v2 gives
(mean pooling over the attention mask, then L2 normalisation). If the graph in
export_minilm_onnx.py is wrong in any of the usual ways (LayerNorm eps, tanh vs
erf GELU, mask broadcast, a missing weight transpose) these drift far beyond
the 4th decimal, so matching them is a strong end-to-end test.

Needs: onnxruntime, numpy, tokenizers (installed by `setup-model.sh --with-check`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

SENTENCES = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
EXPECTED = {(0, 1): 0.6660, (0, 2): 0.1046, (1, 2): 0.1411}
TOL = 1e-4  # expected values are given to 4 decimals


def embed(model_dir: Path, sentences: list[str]) -> np.ndarray:
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # The shipped tokenizer.json pads every input to a fixed 128; use the
    # sentence-transformers settings instead (truncate at 256, pad to longest).
    tok.enable_truncation(max_length=256)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(sentences)
    feeds = {
        "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
    }

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1  # single-threaded: reproducible numbers run to run
    sess = ort.InferenceSession(str(model_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    (hidden,) = sess.run(["last_hidden_state"], feeds)

    mask = feeds["attention_mask"][..., None].astype(np.float32)
    pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def main() -> int:
    default_dir = Path(os.environ.get("SLUICE_HOME", Path.home() / ".cache" / "sluice")) / "models" / "all-MiniLM-L6-v2"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=default_dir)
    args = ap.parse_args()

    emb = embed(args.model_dir, SENTENCES)
    assert emb.shape == (len(SENTENCES), 384), emb.shape
    sims = emb @ emb.T

    ok = True
    for (i, j), want in EXPECTED.items():
        got = float(sims[i, j])
        good = abs(got - want) <= TOL
        ok &= good
        print(f"cos({i + 1},{j + 1}) = {got:.4f}  expected {want:.4f}  {'ok' if good else 'MISMATCH'}")
    print("golden check passed" if ok else "golden check FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
